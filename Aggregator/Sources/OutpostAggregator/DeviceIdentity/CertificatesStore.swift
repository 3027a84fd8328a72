import Foundation
import Logging
import PostgresNIO

/// PostgreSQL access for identity: tokens, issued certificates, revocation. Tables in
/// `Migrations/0020_identity.sql`; the `devices` row is shared with ingest.
public struct IdentityStore: Sendable {
    public struct TokenRecord: Sendable, Equatable {
        public var deviceID: String
        public var kind: String
        public var expiresAt: Date
        public var usedAt: Date?
    }

    public struct CertificateRecord: Sendable, Equatable {
        public var serial: String
        public var subject: String
        public var deviceID: String?
        public var purpose: String
        public var notAfter: Date
        public var revokedAt: Date?
        public var deviceRevokedAt: Date?

        public init(serial: String, subject: String, deviceID: String?, purpose: String, notAfter: Date, revokedAt: Date? = nil,
                    deviceRevokedAt: Date? = nil) {
            self.serial = serial
            self.subject = subject
            self.deviceID = deviceID
            self.purpose = purpose
            self.notAfter = notAfter
            self.revokedAt = revokedAt
            self.deviceRevokedAt = deviceRevokedAt
        }
    }

    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the device row if new (kind updated if given again) and stores the token's hash.
    public func createToken(hash: String, device: String, kind: String, expiresAt: Date) async throws {
        try await transaction { connection in
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
        try await transaction { connection in
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
    /// certificate is revoked through ``revokeDevice(_:)`` instead).
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
    public func consumeToken(hash: String, certificate: CertificateRecord, notBefore: Date) async throws {
        try await transaction { connection in
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
            try await insert(certificate, notBefore: notBefore, on: connection)
            try await DevicesStore.clearRevocation(of: certificate.deviceID, on: connection, logger: logger)
        }
    }

    public func recordCertificate(_ certificate: CertificateRecord, notBefore: Date) async throws {
        try await client.withConnection { try await insert(certificate, notBefore: notBefore, on: $0) }
    }

    private func insert(_ certificate: CertificateRecord, notBefore: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO certificates (serial, subject, device_id, purpose, not_before, not_after)
            VALUES (\(certificate.serial), \(certificate.subject), \(certificate.deviceID), \(certificate.purpose), \(notBefore),
                    \(certificate.notAfter))
            """, logger: logger)
    }

    public func certificate(serial: String) async throws -> CertificateRecord? {
        let rows = try await client.query(
            """
            SELECT c.serial, c.subject, c.device_id, c.purpose, c.not_after, c.revoked_at, d.revoked_at
            FROM certificates c LEFT JOIN devices d ON d.id = c.device_id WHERE c.serial = \(serial)
            """, logger: logger)
        for try await (serial, subject, device, purpose, notAfter, revokedAt, deviceRevokedAt)
            in rows.decode((String, String, String?, String, Date, Date?, Date?).self)
        {
            return CertificateRecord(serial: serial, subject: subject, deviceID: device, purpose: purpose, notAfter: notAfter,
                                     revokedAt: revokedAt, deviceRevokedAt: deviceRevokedAt)
        }
        return nil
    }

    /// Marks the device revoked and revokes its unexpired certificates. Returns the serials
    /// revoked now; throws `unknown_device` for an unknown id.
    public func revokeDevice(_ device: String) async throws -> [String] {
        try await transaction { connection in
            guard try await DevicesStore.revoke(device, on: connection, logger: logger) else {
                throw IdentityError(.unknownDevice, "no device \(device)")
            }
            // Unused tokens for the device die with it: revocation must not be undone by an old token.
            try await connection.query(
                "UPDATE enrollment_tokens SET expires_at = now() WHERE device_id = \(device) AND used_at IS NULL AND expires_at > now()",
                logger: logger)
            var serials: [String] = []
            for try await serial in try await connection.query(
                """
                UPDATE certificates SET revoked_at = now()
                WHERE device_id = \(device) AND revoked_at IS NULL AND not_after > now() RETURNING serial
                """, logger: logger).decode(String.self)
            {
                serials.append(serial)
            }
            return serials
        }
    }

    public func revokeCertificate(serial: String) async throws {
        try await client.query("UPDATE certificates SET revoked_at = coalesce(revoked_at, now()) WHERE serial = \(serial)", logger: logger)
    }

    /// Revoked certificates not yet expired: the CRL's entries.
    public func revokedCertificates() async throws -> [(serial: String, revokedAt: Date)] {
        var entries: [(serial: String, revokedAt: Date)] = []
        for try await (serial, revokedAt) in try await client.query(
            "SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL AND not_after > now() ORDER BY serial",
            logger: logger).decode((String, Date).self)
        {
            entries.append((serial, revokedAt))
        }
        return entries
    }

    /// Lock key for CRL publication ("outpost-crl"), distinct from the migration lock.
    static let crlLockKey: Int64 = 0x6f75_7470_6f73_7402

    /// Runs `body` while holding a PostgreSQL advisory lock, so CRL publications from several
    /// aggregators happen one after another: each reads every revocation committed before it
    /// and writes after the previous one, so the file on disk is never older than the database.
    public func withCRLPublicationLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.crlLockKey))", logger: logger)
            do {
                let result = try await body()
                try await connection.query("SELECT pg_advisory_unlock(\(Self.crlLockKey))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.crlLockKey))", logger: logger)
                throw error
            }
        }
    }

    /// `withTransaction`, with an ``IdentityError`` thrown inside surfacing as itself
    /// (postgres-nio wraps closure errors in `PostgresTransactionError`).
    private func transaction<T: Sendable>(_ body: nonisolated(nonsending) (PostgresConnection) async throws -> sending T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            if let refusal = error.closureError as? IdentityError { throw refusal }
            throw error
        }
    }

    public func nextCRLNumber() async throws -> Int64 {
        for try await number in try await client.query("SELECT nextval('crl_number')", logger: logger).decode(Int64.self) {
            return number
        }
        throw StoreError(.unavailable, "crl_number sequence answered nothing")
    }
}
