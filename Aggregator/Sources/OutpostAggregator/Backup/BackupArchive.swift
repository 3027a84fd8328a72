import Foundation
import OutpostSupport

/// What a backup holds and where each part lives on the host, from one configuration.
///
/// The archive is a gzip tar with `manifest.json`, `database.dump` (`pg_dump` custom format),
/// `config.json`, `ca/` (the fleet CA's key, certificate and serial state), `broker/` (what
/// `broker-config` wrote), and `files/` (the HTTPS and MQTT certificates and keys, the
/// `/metrics` token). Restore puts each part at the path the target configuration names.
struct BackupPlan: Sendable, Equatable {
    struct Item: Sendable, Equatable {
        /// Path inside the archive.
        var archivePath: String
        /// Path on the host.
        var hostPath: String
        var isDirectory: Bool
        /// Whether a missing file is an error (the configuration names it) or just left out.
        var required: Bool
    }

    static let formatVersion = 1

    var items: [Item]

    init(configuration: AggregatorConfiguration, configPath: String) {
        var items = [
            Item(archivePath: "config.json", hostPath: configPath, isDirectory: false, required: true),
            Item(archivePath: "ca", hostPath: configuration.caDirectory, isDirectory: true, required: false),
            Item(archivePath: "broker", hostPath: configuration.brokerDirectory, isDirectory: true, required: false),
        ]
        let files: [(String, String?)] = [
            ("files/https.pem", configuration.http.certFile), ("files/https.key", configuration.http.keyFile),
            ("files/http-client-ca.pem", configuration.http.clientCaFile), ("files/metrics.token", configuration.http.metricsTokenFile),
            ("files/mqtt-ca.pem", configuration.mqtt.caFile), ("files/mqtt.pem", configuration.mqtt.certFile),
            ("files/mqtt.key", configuration.mqtt.keyFile),
        ]
        for (archivePath, hostPath) in files {
            guard let hostPath, !hostPath.isEmpty else { continue }
            items.append(Item(archivePath: archivePath, hostPath: hostPath, isDirectory: false, required: true))
        }
        self.items = items
    }
}

/// `outpost-aggregator backup` and `restore`: the database through `pg_dump`/`pg_restore`,
/// the files through `cp -a` and `tar` (modes and owners kept), and optional encryption
/// with `openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256` (salted), which an
/// operator can also undo by hand. The passphrase reaches `openssl` through a 0600 file,
/// never a command line.
public enum BackupArchive {
    /// Tables whose rows stay out of the dump (their definitions are in it): the running
    /// streams' SRTP keys (`media_relays`, `live_sessions.srtp_key`). They are worth nothing
    /// after a restore (those streams, mountpoints and relays are gone) and must not outlive
    /// their streams in an archive kept for months.
    static let excludedTableData = ["--exclude-table-data=media_relays", "--exclude-table-data=live_sessions"]

    /// `openssl enc` arguments, shared by encryption and decryption.
    static let cipher = ["-aes-256-cbc", "-pbkdf2", "-iter", "600000", "-md", "sha256"]

    /// Writes the backup of `configuration` (read from `configPath`) to `output`, mode 0600.
    /// - Returns: the archive paths it holds, for the operator.
    public static func backup(configuration: AggregatorConfiguration, configPath: String, output: String,
                              passphrase: String?) throws(BackupError) -> [String] {
        let plan = BackupPlan(configuration: configuration, configPath: configPath)
        let staging = try makeStaging(near: output)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let tree = (staging as NSString).appendingPathComponent("tree")
        try makeDirectory(tree)
        var included: [String] = []
        for item in plan.items {
            guard FileManager.default.fileExists(atPath: item.hostPath) else {
                if item.required { throw BackupError(.missingFile, "\(item.hostPath) (\(item.archivePath)) does not exist") }
                continue
            }
            let target = (tree as NSString).appendingPathComponent(item.archivePath)
            try makeDirectory((target as NSString).deletingLastPathComponent)
            try run("cp", ["-a", "--", item.hostPath, target])
            included.append(item.archivePath)
        }
        try run("pg_dump", ["--format=custom", "--file", (tree as NSString).appendingPathComponent("database.dump")] + excludedTableData
                + connection(configuration.postgres), environment: libpqEnvironment(configuration.postgres))
        included.append("database.dump")
        let manifest = #"{"format":\#(BackupPlan.formatVersion),"outpostVersion":"\#(OutpostVersion.current)","createdAt":"\#(ISO8601DateFormatter().string(from: Date()))","contents":[\#(included.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        try write(manifest + "\n", to: (tree as NSString).appendingPathComponent("manifest.json"))
        let tarball = (staging as NSString).appendingPathComponent("backup.tar.gz")
        try run("tar", ["--create", "--gzip", "--file", tarball, "--directory", tree, "."])
        // The archive holds the CA key: its file exists at 0600 before a byte is written into it
        // (cp and openssl keep an existing file's mode).
        let partial = output + ".partial"
        unlink(partial)
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0, fchmod(descriptor, 0o600) == 0 else {
            throw BackupError(.toolFailed, "cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        if let passphrase {
            let passFile = try passphraseFile(passphrase, in: staging)
            try run("openssl", ["enc", "-e", "-salt"] + cipher + ["-pass", "file:" + passFile, "-in", tarball, "-out", partial])
        } else {
            try run("cp", ["--", tarball, partial])
        }
        guard chmod(partial, 0o600) == 0, rename(partial, output) == 0 else {
            throw BackupError(.toolFailed, "cannot move the archive to \(output): \(String(cString: strerror(errno)))")
        }
        return included
    }

    /// Whether `path` is an archive `backup` encrypted (`openssl enc` writes `Salted__` first).
    public static func isEncrypted(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)).map { Array($0) == Array("Salted__".utf8) } ?? false
    }

    /// Unpacks `archive` and returns the directory holding its tree (inside `staging`), after
    /// checking its manifest.
    static func unpack(_ archive: String, passphrase: String?, staging: String) throws(BackupError) -> String {
        var tarball = archive
        if isEncrypted(archive) {
            guard let passphrase, !passphrase.isEmpty else { throw BackupError(.passphraseRequired, "\(archive) is encrypted") }
            let passFile = try passphraseFile(passphrase, in: staging)
            tarball = (staging as NSString).appendingPathComponent("backup.tar.gz")
            do {
                try run("openssl", ["enc", "-d"] + cipher + ["-pass", "file:" + passFile, "-in", archive, "-out", tarball])
            } catch {
                throw BackupError(.decryptionFailed, "cannot decrypt \(archive): wrong passphrase or a damaged archive")
            }
        }
        let tree = (staging as NSString).appendingPathComponent("tree")
        try makeDirectory(tree)
        do {
            try run("tar", ["--extract", "--gzip", "--same-permissions", "--file", tarball, "--directory", tree])
        } catch {
            throw BackupError(.decryptionFailed, "\(archive) is not a readable archive (wrong passphrase or damaged): \(error.context)")
        }
        let manifestPath = (tree as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestPath),
              let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              manifest["format"] as? Int == BackupPlan.formatVersion
        else { throw BackupError(.invalidArchive, "\(archive) has no manifest of format \(BackupPlan.formatVersion)") }
        return tree
    }

    /// Restores `archive` onto this host: the configuration to `configPath` when no file is
    /// there yet, then the files to the paths that configuration names, then the database
    /// into the (empty) database it names.
    /// - Returns: the archive paths restored.
    public static func restore(archive: String, configPath: String, passphrase: String?, overwrite: Bool,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(BackupError) -> [String] {
        let staging = try makeStaging(near: configPath)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let tree = try unpack(archive, passphrase: passphrase, staging: staging)
        func inTree(_ path: String) -> String { (tree as NSString).appendingPathComponent(path) }
        if !FileManager.default.fileExists(atPath: configPath) {
            try makeDirectory((configPath as NSString).deletingLastPathComponent)
            try run("cp", ["-a", "--", inTree("config.json"), configPath])
        }
        let configuration: AggregatorConfiguration
        do {
            configuration = try ConfigLoader(environment: environment).load(AggregatorConfiguration.self, path: configPath)
        } catch {
            throw BackupError(.invalidArchive, "cannot load \(configPath): \(error)")
        }
        let plan = BackupPlan(configuration: configuration, configPath: configPath)
        let present = plan.items.filter { $0.archivePath != "config.json" && FileManager.default.fileExists(atPath: inTree($0.archivePath)) }
        let existing = present.filter { item in
            item.isDirectory ? !((try? FileManager.default.contentsOfDirectory(atPath: item.hostPath)) ?? []).isEmpty
                : FileManager.default.fileExists(atPath: item.hostPath)
        }
        if !overwrite, !existing.isEmpty {
            throw BackupError(.wouldOverwrite, "these exist: \(existing.map(\.hostPath).joined(separator: ", "))")
        }
        var restored: [String] = []
        for item in present {
            if item.isDirectory {
                try makeDirectory(item.hostPath)
                try run("cp", ["-a", "--", inTree(item.archivePath) + "/.", item.hostPath])
            } else {
                try makeDirectory((item.hostPath as NSString).deletingLastPathComponent)
                try run("cp", ["-a", "--", inTree(item.archivePath), item.hostPath])
            }
            restored.append(item.archivePath)
        }
        try run("pg_restore", ["--exit-on-error", "--single-transaction", "--no-owner", "--dbname", configuration.postgres.database]
                + connection(configuration.postgres, database: false) + [inTree("database.dump")],
                environment: libpqEnvironment(configuration.postgres))
        restored.append("database.dump")
        return restored
    }

    // MARK: Helpers

    /// With `postgres.tls.server_name` and a numeric `host`, libpq checks the certificate against
    /// `--host` (the name) and connects to `PGHOSTADDR` (the address; ``libpqEnvironment(_:)``),
    /// as the aggregator's own connections do.
    static func connection(_ settings: PostgresSettings, database: Bool = true) -> [String] {
        ["--host", verifiedName(settings) ?? settings.host, "--port", "\(settings.port)", "--username", settings.username, "--no-password"]
            + (database ? ["--dbname", settings.database] : [])
    }

    /// libpq's environment for pg_dump and pg_restore: the password, and `postgres.tls` as the
    /// aggregator's own connections use it, so a backup is as protected as ingest (without it
    /// libpq would fall back to `sslmode=prefer` and check no certificate).
    static func libpqEnvironment(_ settings: PostgresSettings) -> [String: String] {
        var environment = settings.password.map { ["PGPASSWORD": $0.value] } ?? [:]
        environment["PGSSLMODE"] = settings.tls.mode.rawValue
        if let ca = settings.tls.caFile { environment["PGSSLROOTCERT"] = ca }
        if let certificate = settings.tls.certFile, let key = settings.tls.keyFile {
            environment["PGSSLCERT"] = certificate
            environment["PGSSLKEY"] = key
        }
        if verifiedName(settings) != nil { environment["PGHOSTADDR"] = settings.host }
        return environment
    }

    /// `server_name` when libpq can use it: only beside a numeric `host` (libpq's `hostaddr`).
    private static func verifiedName(_ settings: PostgresSettings) -> String? {
        guard let name = settings.tls.serverName else { return nil }
        var v4 = in_addr(), v6 = in6_addr()
        let numeric = inet_pton(AF_INET, settings.host, &v4) == 1 || inet_pton(AF_INET6, settings.host, &v6) == 1
        return numeric ? name : nil
    }

    /// A private (0700) scratch directory beside `path`, so that nothing of the backup passes through a shared /tmp.
    private static func makeStaging(near path: String) throws(BackupError) -> String {
        let parent = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        try makeDirectory(parent)
        var template = Array(((parent as NSString).appendingPathComponent(".outpost-backup-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BackupError(.toolFailed, "cannot create a scratch directory in \(parent): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    private static func makeDirectory(_ path: String) throws(BackupError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError(.toolFailed, "cannot create \(path): \(error)")
        }
    }

    private static func write(_ text: String, to path: String) throws(BackupError) {
        do {
            try SecureFile.write(text, to: path, mode: 0o600)
        } catch {
            throw BackupError(.toolFailed, "cannot write \(path): \(error)")
        }
    }

    private static func passphraseFile(_ passphrase: String, in staging: String) throws(BackupError) -> String {
        guard !passphrase.isEmpty else { throw BackupError(.passphraseRequired, "the passphrase is empty") }
        let path = (staging as NSString).appendingPathComponent("passphrase")
        try write(passphrase, to: path)
        return path
    }

    /// Runs a tool found on `PATH`; its error output becomes the error's message.
    private static func run(_ tool: String, _ arguments: [String], environment extra: [String: String] = [:]) throws(BackupError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BackupError(.toolFailed, "cannot start \(tool): \(error)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output.prefix(4_000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw BackupError(.toolFailed, "\(tool) exited with \(process.terminationStatus): \(text)")
        }
    }
}
