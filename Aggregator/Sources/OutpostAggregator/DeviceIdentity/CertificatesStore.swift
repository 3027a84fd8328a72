import Foundation
import Logging
import PostgresNIO

/// The `certificates` table: every certificate the fleet CA issued, its revocation and the
/// CRL's entries (`Migrations/0020_identity.sql`). A device's revocation also marks its
/// `devices` row and expires its unused enrollment tokens, in one transaction.
public struct CertificatesStore: Sendable {
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

    public let client: PostgresPool
    public let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func recordCertificate(_ certificate: CertificateRecord, notBefore: Date) async throws {
        try await client.withConnection { try await Self.insert(certificate, notBefore: notBefore, on: $0, logger: logger) }
    }

    /// Records an issued certificate inside another store's transaction (an enrollment's token consumption).
    static func insert(_ certificate: CertificateRecord, notBefore: Date, on connection: PostgresConnection, logger: Logger) async throws {
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
        try await client.identityTransaction(logger: logger) { connection in
            guard try await DevicesStore.revoke(device, on: connection, logger: logger) else {
                throw IdentityError(.unknownDevice, "no device \(device)")
            }
            // Unused tokens for the device die with it: revocation must not be undone by an old token.
            try await EnrollmentTokensStore.expireUnused(device: device, on: connection, logger: logger)
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
    public func withCRLPublicationLock<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
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

    public func nextCRLNumber() async throws -> Int64 {
        for try await number in try await client.query("SELECT nextval('crl_number')", logger: logger).decode(Int64.self) {
            return number
        }
        throw StoreError(.unavailable, "crl_number sequence answered nothing")
    }
}
