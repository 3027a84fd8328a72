/// A backup or restore that could not be done, with a stable code and what was being done.
public struct BackupError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file or directory the configuration names is not there.
        public static let missingFile = Code("missing_file")
        /// `pg_dump`, `pg_restore`, `tar`, `cp` or `openssl` failed; the message has its error output.
        public static let toolFailed = Code("tool_failed")
        /// The passphrase is wrong or the encrypted archive is damaged.
        public static let decryptionFailed = Code("decryption_failed")
        /// The archive is encrypted and no passphrase was given, or the passphrase is empty.
        public static let passphraseRequired = Code("passphrase_required")
        /// Not an Outpost backup, or one of a format this version does not read.
        public static let invalidArchive = Code("invalid_archive")
        /// Restoring would replace files that exist (pass `--overwrite` to replace them).
        public static let wouldOverwrite = Code("would_overwrite")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func == (lhs: BackupError, rhs: BackupError) -> Bool { lhs.code == rhs.code }
}
