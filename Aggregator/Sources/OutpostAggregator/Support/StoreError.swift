import OutpostSupport

/// A failure of the aggregator's PostgreSQL store, with a stable code.
public typealias StoreError = CodedError<StoreErrorCode>

/// The stable codes of ``StoreError``.
public enum StoreErrorCode: String, ErrorCode {
    case migrationsUnreadable = "migrations_unreadable"
    case migrationFailed = "migration_failed"
    case unavailable = "database_unavailable"
    case conflict
    case notFound = "not_found"
    /// A `postgres.tls` file is missing, unreadable or holds no PEM data.
    case tlsFileUnreadable = "postgres_tls_file_unreadable"
    /// The `postgres.tls.key_file` can be read by other users.
    case tlsKeyPermissions = "postgres_tls_key_permissions"
    /// The server's certificate does not chain to `postgres.tls.ca_file`.
    case tlsUntrusted = "postgres_tls_untrusted"
    /// The server's certificate is trusted but does not name the server.
    case tlsHostnameMismatch = "postgres_tls_hostname_mismatch"
    /// TLS is required but the server does not offer it (`ssl = off`).
    case tlsUnsupported = "postgres_tls_unsupported"
    /// The TLS handshake failed otherwise (protocol, or the server refused our client certificate).
    case tlsHandshakeFailed = "postgres_tls_handshake_failed"
    /// A write (its connection lease and its statement) passed its deadline; its connection was closed.
    case writeDeadline = "postgres_write_deadline"
    /// A single statement had no answer within its limit and was left (``PostgresPool``).
    case noAnswer = "postgres_no_answer"
    /// A statement's connection closed before it was answered, and postgres-nio never said so (``PostgresPool``).
    case connectionLost = "postgres_connection_lost"
    /// A row has fewer columns than the code reading it expects (``RowCells``).
    case unexpectedRow = "postgres_unexpected_row"
}
