/// A failure of the MQTT client, with a stable code.
public struct MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The configuration cannot work (bad host, unreadable certificate file, bad option).
        public static let invalidConfiguration = Code("invalid_configuration")
        /// TCP could not connect, or the connection was lost.
        public static let connectionLost = Code("connection_lost")
        /// The TLS handshake failed: unknown CA, refused client certificate, bad key.
        public static let tls = Code("tls")
        /// The broker refused this client's certificate at the TLS handshake (revoked, expired,
        /// not issued by its CA): retrying with the same certificate cannot succeed.
        public static let certificateRefused = Code("certificate_refused")
        /// The broker answered CONNECT with a failure reason code.
        public static let refused = Code("refused")
        /// The operation needs a connection and there is none.
        public static let notConnected = Code("not_connected")
        /// The broker refused a subscription (for example by ACL).
        public static let subscriptionRefused = Code("subscription_refused")
        /// The payload or topic was refused locally (too large, malformed topic).
        public static let invalidMessage = Code("invalid_message")
        /// The client is shutting down.
        public static let shutdown = Code("shutdown")
        /// Any other libmosquitto error.
        public static let library = Code("library")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: MQTTError, rhs: MQTTError) -> Bool { lhs.code == rhs.code }
}
