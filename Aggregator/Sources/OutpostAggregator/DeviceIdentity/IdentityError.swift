/// A refusal or failure of the identity module, with a stable code. The config endpoint
/// answers each code with its HTTP status and `{"error": {"code", "message"}}`.
///
/// Not a `CodedError`: it also carries the brokers a refusal names (`brokers`).
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public let httpStatus: Int
        private init(_ rawValue: String, _ httpStatus: Int) {
            self.rawValue = rawValue
            self.httpStatus = httpStatus
        }
        public var description: String { rawValue }

        /// The request body is not the expected JSON.
        public static let malformedRequest = Code("malformed_request", 400)
        /// The token is not an Outpost token, or no such token was issued.
        public static let invalidToken = Code("invalid_token", 401)
        /// The token enrolled a device already; tokens are single-use.
        public static let tokenUsed = Code("token_used", 409)
        /// The token's lifetime is over.
        public static let tokenExpired = Code("token_expired", 410)
        /// The CSR is not a PEM PKCS#10 request.
        public static let malformedCSR = Code("malformed_csr", 400)
        /// The CSR's self-signature does not verify.
        public static let badSignature = Code("bad_csr_signature", 400)
        /// The CSR's CN is not the device the token (or the current certificate) names.
        public static let subjectMismatch = Code("subject_mismatch", 403)
        /// The CSR's key is not P-256.
        public static let unsupportedKey = Code("unsupported_key_type", 400)
        /// Renewal without a client certificate.
        public static let certificateRequired = Code("client_certificate_required", 401)
        /// The client certificate is unknown to this CA, expired, or not a device certificate.
        public static let unknownCertificate = Code("unknown_certificate", 401)
        /// The certificate or its device is revoked.
        public static let revoked = Code("revoked", 403)
        /// The device is not known.
        public static let unknownDevice = Code("unknown_device", 404)
        /// Too many config endpoint requests from this address; retry after `Retry-After` seconds.
        public static let rateLimited = Code("rate_limited", 429)
        /// `ca init` found a CA already.
        public static let caExists = Code("ca_exists", 409)
        /// No CA in the state directory, or it cannot be read.
        public static let caUnavailable = Code("ca_unavailable", 500)
        /// The broker could not be told (pid file, signal, connection).
        public static let brokerUnreachable = Code("broker_unreachable", 502)
        /// Writing a file failed.
        public static let fileWriteFailed = Code("file_write_failed", 500)
        /// Signing or encoding failed.
        public static let issuanceFailed = Code("issuance_failed", 500)
    }

    public let code: Code
    /// What happened, for the operator; never a secret.
    public let context: String
    /// The brokers a revocation could not finish on (`broker_unreachable` from ``Revocation``); empty otherwise.
    public let brokers: [String]

    public init(_ code: Code, _ context: String, brokers: [String] = []) {
        self.code = code
        self.context = context
        self.brokers = brokers
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: IdentityError, rhs: IdentityError) -> Bool { lhs.code == rhs.code }
}
