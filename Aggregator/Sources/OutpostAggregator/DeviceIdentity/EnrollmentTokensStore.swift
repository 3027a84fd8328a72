import Foundation
import Logging
import PostgresNIO

/// The `enrollment_tokens` table: one-time tokens, stored as hashes, each for one device
/// (`Migrations/0020_identity.sql`). Creating a token also creates the device's `devices` row;
/// consuming one records the certificate issued for it, in one transaction.
public struct EnrollmentTokensStore: Sendable {
    public struct TokenRecord: Sendable, Equatable {
        public var deviceID: String
        public var kind: String
        public var expiresAt: Date
        public var usedAt: Date?
    }

    public let client: PostgresPool
    public let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the device row if new (kind updated if given again) and stores the token's hash.
    public func createToken(hash: String, device: String, kind: String, expiresAt: Date) async throws {
        try await client.identityTransaction(logger: logger) { connection in
            try await DevicesStore.register(device, kind: kind, on: connection, logger: logger)
            try await connection.query(
                "INSERT INTO enrollment_tokens (token_hash, device_id, expires_at) VALUES (\(hash), \(device), \(expiresAt))",
                logger: logger)
        }
    }

    /// Stores many tokens in one transaction, all or none: the device rows (created if new,
    /// kind updated otherwise) and each token's hash, every one expiring at `expiresAt`.
    /// - Parameter tokens: `(hash, device)` pairs; devices must be distinct.
    public func createTokens(_ tokens: [(hash: String, device: String)], kind: String, expiresAt: Date) async throws {
        guard !tokens.isEmpty else { return }
        let hashes = tokens.map(\.hash), devices = tokens.map(\.device)
        try await client.identityTransaction(logger: logger) { connection in
            try await DevicesStore.register(devices, kind: kind, on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO enrollment_tokens (token_hash, device_id, expires_at)
                SELECT token.hash, token.device, \(expiresAt) FROM unnest(\(hashes)::text[], \(devices)::text[]) AS token (hash, device)
                """, logger: logger)
        }
    }

    /// What ``expireToken(hash:)`` found.
    public enum TokenExpiry: Sendable, Equatable { case expired(device: String), unknown, used }

    /// Revokes an unused token by expiring it now; a used token stays as it is (its
    /// certificate is revoked through ``CertificatesStore/revokeDevice(_:)`` instead).
    public func expireToken(hash: String) async throws -> TokenExpiry {
        let rows = try await client.query(
            """
            UPDATE enrollment_tokens SET expires_at = least(expires_at, now())
            WHERE token_hash = \(hash) AND used_at IS NULL RETURNING device_id
            """, logger: logger)
        for try await device in rows.decode(String.self) { return .expired(device: device) }
        return try await token(hash: hash) == nil ? .unknown : .used
    }

    public func token(hash: String) async throws -> TokenRecord? {
        let rows = try await client.query(
            """
            SELECT t.device_id, d.kind, t.expires_at, t.used_at FROM enrollment_tokens t JOIN devices d ON d.id = t.device_id
            WHERE t.token_hash = \(hash)
            """, logger: logger)
        for try await (device, kind, expiresAt, usedAt) in rows.decode((String, String, Date, Date?).self) {
            return TokenRecord(deviceID: device, kind: kind, expiresAt: expiresAt, usedAt: usedAt)
        }
        return nil
    }

    /// In one transaction: consumes the token (only if unused and unexpired: one UPDATE, so of
    /// two racing enrollments exactly one gets the row), records the certificate, and clears
    /// the device's revocation. Throws `token_used`/`token_expired` when the token was taken.
    public func consumeToken(hash: String, certificate: CertificatesStore.CertificateRecord, notBefore: Date) async throws {
        try await client.identityTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE enrollment_tokens SET used_at = now(), used_serial = \(certificate.serial)
                WHERE token_hash = \(hash) AND used_at IS NULL AND expires_at > now()
                RETURNING device_id
                """, logger: logger)
            var consumed = false
            for try await _ in rows { consumed = true }
            guard consumed else {
                var expired = false
                for try await used in try await connection.query(
                    "SELECT used_at IS NOT NULL FROM enrollment_tokens WHERE token_hash = \(hash)", logger: logger).decode(Bool.self)
                {
                    expired = !used
                }
                throw expired ? IdentityError(.tokenExpired, "the token expired") : IdentityError(.tokenUsed, "the token was used already")
            }
            try await CertificatesStore.insert(certificate, notBefore: notBefore, on: connection, logger: logger)
            try await DevicesStore.clearRevocation(of: certificate.deviceID, on: connection, logger: logger)
        }
    }

    /// Expires the device's unused tokens inside another store's transaction (a device's revocation).
    static func expireUnused(device: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE enrollment_tokens SET expires_at = now() WHERE device_id = \(device) AND used_at IS NULL AND expires_at > now()",
            logger: logger)
    }
}
