import ArgumentParser
import Foundation
import OutpostSupport

extension AggregatorCommand {
    /// `outpost-aggregator backup --out FILE`: the database, the CA, the certificates and keys,
    /// and the configuration in one archive (mode 0600), optionally encrypted. See docs/operations.md.
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one archive with the database (pg_dump), the CA, certificates, keys and configuration.")

        @Option(help: "Configuration file.")
        var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "The archive to write (mode 0600).")
        var out: String
        @Option(help: "Encrypt with the passphrase in this file (AES-256-CBC, PBKDF2-SHA256, 600,000 iterations, via openssl).")
        var passphraseFile: String?
        @Flag(help: "Encrypt with a passphrase read from standard input (first line).")
        var passphraseStdin = false

        func run() throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            let passphrase = try Passphrase.read(file: passphraseFile, stdin: passphraseStdin)
            let contents = try BackupArchive.backup(configuration: configuration, configPath: config, output: out, passphrase: passphrase)
            print("wrote \(out)\(passphrase == nil ? "" : " (encrypted)"): \(contents.joined(separator: ", "))")
        }
    }

    /// `outpost-aggregator restore FILE`: puts a backup back onto a fresh host.
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup: configuration (when none is there), CA, certificates, keys, then the database (which must be empty).")

        @Argument(help: "The archive `backup` wrote.")
        var archive: String
        @Option(help: "Configuration file; the archived one is put here when it does not exist.")
        var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "The passphrase of an encrypted archive, in this file.")
        var passphraseFile: String?
        @Flag(help: "Read the passphrase from standard input (first line).")
        var passphraseStdin = false
        @Flag(help: "Replace files and directories that exist.")
        var overwrite = false

        func run() throws {
            let passphrase = try Passphrase.read(file: passphraseFile, stdin: passphraseStdin)
            let restored = try BackupArchive.restore(archive: archive, configPath: config, passphrase: passphrase, overwrite: overwrite)
            print("restored \(restored.joined(separator: ", ")) with \(config)")
        }
    }
}

/// The passphrase of `backup` and `restore`: from a file or the first line of standard input.
enum Passphrase {
    static func read(file: String?, stdin: Bool) throws -> String? {
        if stdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw BackupError(.passphraseRequired, "no passphrase on standard input")
            }
            return line
        }
        guard let file else { return nil }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw BackupError(.missingFile, "cannot read the passphrase file \(file)")
        }
        let passphrase = text.trimmingCharacters(in: .newlines)
        guard !passphrase.isEmpty else { throw BackupError(.passphraseRequired, "the passphrase file \(file) is empty") }
        return passphrase
    }
}
