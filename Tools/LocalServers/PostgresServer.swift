import Foundation

/// A throwaway PostgreSQL cluster: initdb'd in a temp dir, listening on 127.0.0.1 on a
/// free port, with a database `outpost` owned by the superuser `outpost` (trust auth
/// on loopback only).
///
/// PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs
/// to the `postgres` system user and the server is exec'd through `setpriv`, so the
/// PID the harness holds is the postmaster's own and `kill -9` reaches it.
public final class PostgresServer: @unchecked Sendable {
    /// Server-side TLS: `ssl = on` with this certificate and key.
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        /// CA for client certificates (`ssl_ca_file`); needed by ``certificateUsers``.
        public var clientCAFile: String?
        /// Roles that may log in over TLS with a client certificate whose CN is the role
        /// (`hostssl … cert`) and in no other way.
        public var certificateUsers: [String]

        public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil, certificateUsers: [String] = []) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
            self.certificateUsers = certificateUsers
        }
    }

    public let port: Int
    public let dataDirectory: String
    public let database = "outpost"
    public let user = "outpost"
    private let binDirectory: String
    private let runAs: (uid: uid_t, gid: gid_t)?
    private let durable: Bool
    private var tlsOptions: [String] = []
    private var process: ServerProcess?

    /// - Parameters:
    ///   - durable: keep `fsync` on. Tests that only kill processes (not the machine) stay
    ///     correct without it, so it defaults to off for speed.
    ///   - tls: turn on server TLS. Loopback clients may still connect without it, except
    ///     the ``TLS/certificateUsers``.
    public init(directory: String, durable: Bool = false, tls: TLS? = nil) async throws {
        binDirectory = try Self.findBinDirectory()
        self.durable = durable
        dataDirectory = (directory as NSString).appendingPathComponent("pgdata")
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        chmod(dataDirectory, 0o700)
        if geteuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw HarnessError("running as root needs the `postgres` system user (apt-get install postgresql)")
            }
            runAs = (account.pointee.pw_uid, account.pointee.pw_gid)
            chmod(directory, 0o755)
            chown(dataDirectory, account.pointee.pw_uid, account.pointee.pw_gid)
        } else {
            runAs = nil
        }
        let initdb = try Self.unprivileged((binDirectory as NSString).appendingPathComponent("initdb"),
                                           ["-D", dataDirectory, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"], as: runAs)
        try await runTool(initdb.executable, initdb.arguments)
        // Chosen after initdb: until the server binds it, a client's outgoing connection may take it.
        port = try FreePort.next()
        if let tls { try configure(tls) }
        try await start()
        try await runTool(locateTool("psql"), ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                                        "-c", "CREATE DATABASE \(database)"])
    }

    /// Starts (or restarts) the server and waits until it accepts queries.
    public func start() async throws {
        let options = [
            "-D", dataDirectory, "-p", "\(port)", "-k", dataDirectory, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=\(durable ? "on" : "off")", "-c", "max_connections=200", "-c", "shared_buffers=128MB",
        ] + tlsOptions
        let server = try Self.unprivileged((binDirectory as NSString).appendingPathComponent("postgres"), options, as: runAs)
        process = try ServerProcess(
            name: "postgres", executable: server.executable, arguments: server.arguments,
            logPath: (dataDirectory as NSString).deletingLastPathComponent + "/postgres.log")
        let isReady = try locateTool("pg_isready")
        try await waitUntil(timeout: .seconds(60), "postgres on port \(port)") { [process, port] in
            guard let process, process.isRunning else { throw HarnessError("postgres exited: \(process?.log ?? "")") }
            return (try? await runTool(isReady, ["-h", "127.0.0.1", "-p", "\(port)", "-U", "outpost", "-d", "postgres"])) != nil
        }
    }

    /// Fast shutdown (SIGINT), waiting for the exit.
    public func stop() async { await process?.stop(signal: SIGINT, timeout: .seconds(30)) }

    /// `kill -9` the postmaster, as a crash would.
    public func crash() async { await process?.crash() }

    public var log: String { process?.log ?? "" }

    /// The postmaster's PID, once started.
    public var pid: Int32? { process?.pid }

    /// True while the postmaster the harness started last runs.
    public var isRunning: Bool { process?.isRunning ?? false }

    /// A libpq-style URL for this cluster's database.
    public var url: String { "postgres://\(user)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Runs SQL through `psql` and returns the unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String) async throws -> String {
        try await runTool(locateTool("psql"), ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1",
                                        "-At", "-c", sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Copies the TLS files into the data directory (PostgreSQL wants its key owned by the
    /// server's user and private) and puts the certificate-only roles first in `pg_hba.conf`.
    private func configure(_ tls: TLS) throws {
        func install(_ source: String, as name: String) throws -> String {
            let target = (dataDirectory as NSString).appendingPathComponent(name)
            try FileManager.default.copyItem(atPath: source, toPath: target)
            chmod(target, 0o600)
            if let runAs { chown(target, runAs.uid, runAs.gid) }
            return target
        }
        tlsOptions = ["-c", "ssl=on", "-c", "ssl_cert_file=\(try install(tls.certificateFile, as: "server.crt"))",
                      "-c", "ssl_key_file=\(try install(tls.keyFile, as: "server.key"))"]
        if let clientCAFile = tls.clientCAFile {
            tlsOptions += ["-c", "ssl_ca_file=\(try install(clientCAFile, as: "client-ca.crt"))"]
        }
        guard !tls.certificateUsers.isEmpty else { return }
        let hba = (dataDirectory as NSString).appendingPathComponent("pg_hba.conf")
        let rules = tls.certificateUsers.flatMap {
            ["hostssl all \($0) 127.0.0.1/32 cert", "host all \($0) 127.0.0.1/32 reject"]
        }
        try (rules.joined(separator: "\n") + "\n" + String(contentsOfFile: hba, encoding: .utf8)).write(toFile: hba, atomically: false, encoding: .utf8)
    }

    /// The command line that runs `executable` as the cluster's owner. `setpriv` execs in
    /// place, so the PID of the started process is the PID of `executable` itself.
    private static func unprivileged(_ executable: String, _ arguments: [String], as runAs: (uid: uid_t, gid: gid_t)?) throws
        -> (executable: String, arguments: [String])
    {
        guard let runAs else { return (executable, arguments) }
        return (try locateTool("setpriv"),
                ["--reuid=\(runAs.uid)", "--regid=\(runAs.gid)", "--clear-groups", "--", executable] + arguments)
    }

    private static func findBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last else { throw HarnessError("no PostgreSQL server under \(root); apt-get install postgresql") }
        return "\(root)/\(newest)/bin"
    }
}
