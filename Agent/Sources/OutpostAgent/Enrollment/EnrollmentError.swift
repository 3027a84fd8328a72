/// Why enrollment or renewal failed, with a stable code; printed as one line by `enroll`.
///
/// Not a `CodedError`: it also carries the config endpoint's own code (`serverCode`), which
/// its description prints and its equality compares.
public struct EnrollmentError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// The process exit status `outpost-agent enroll` uses for it.
        public let exitStatus: Int32
        private init(_ rawValue: String, _ exitStatus: Int32) {
            self.rawValue = rawValue
            self.exitStatus = exitStatus
        }
        public var description: String { rawValue }

        public static let invalidToken = Code("invalid_token", 2)
        public static let invalidArgument = Code("invalid_argument", 2)
        /// No TCP connection, name not resolved, or a timeout.
        public static let unreachable = Code("unreachable", 3)
        /// The server's CA is not the one the token (or `--ca-fingerprint`) names.
        public static let fingerprintMismatch = Code("fingerprint_mismatch", 4)
        /// The TLS handshake failed although the CA matched (name mismatch, bad chain).
        public static let tls = Code("tls_failed", 4)
        /// The server answered with a refusal; `serverCode` holds its code.
        public static let refused = Code("refused", 5)
        /// The server's answer is not what the protocol promises.
        public static let badResponse = Code("bad_response", 6)
        /// Writing the key, certificate or configuration failed.
        public static let fileWriteFailed = Code("file_write_failed", 7)
        /// libcrypto could not make the device key.
        public static let keyGenerationFailed = Code("key_generation_failed", 7)
        /// Reading the current certificate or key failed.
        public static let credentialsUnreadable = Code("credentials_unreadable", 7)
    }

    public let code: Code
    /// For `refused`: the server's stable code (`token_used`, `token_expired`, …).
    public let serverCode: String?
    public let context: String

    public init(_ code: Code, _ context: String, serverCode: String? = nil) {
        self.code = code
        self.context = context
        self.serverCode = serverCode
    }

    public var description: String { "\(serverCode ?? code.rawValue): \(context)" }
    public static func == (lhs: EnrollmentError, rhs: EnrollmentError) -> Bool {
        lhs.code == rhs.code && lhs.serverCode == rhs.serverCode
    }
}
