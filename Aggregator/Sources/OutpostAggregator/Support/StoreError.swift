/// A failure of the aggregator's PostgreSQL store, with a stable code.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let migrationsUnreadable = Code("migrations_unreadable")
        public static let migrationFailed = Code("migration_failed")
        public static let unavailable = Code("database_unavailable")
        public static let conflict = Code("conflict")
        public static let notFound = Code("not_found")
        /// A `postgres.tls` file is missing, unreadable or holds no PEM data.
        public static let tlsFileUnreadable = Code("postgres_tls_file_unreadable")
        /// The `postgres.tls.key_file` can be read by other users.
        public static let tlsKeyPermissions = Code("postgres_tls_key_permissions")
        /// The server's certificate does not chain to `postgres.tls.ca_file`.
        public static let tlsUntrusted = Code("postgres_tls_untrusted")
        /// The server's certificate is trusted but does not name the server.
        public static let tlsHostnameMismatch = Code("postgres_tls_hostname_mismatch")
        /// TLS is required but the server does not offer it (`ssl = off`).
        public static let tlsUnsupported = Code("postgres_tls_unsupported")
        /// The TLS handshake failed otherwise (protocol, or the server refused our client certificate).
        public static let tlsHandshakeFailed = Code("postgres_tls_handshake_failed")
        /// A write (its connection lease and its statement) passed its deadline; its connection was closed.
        public static let writeDeadline = Code("postgres_write_deadline")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
}
