import Foundation
import Logging
import PostgresNIO

/// Read-only views of the fleet CA's records (`certificates`, `enrollment_tokens`) for the
/// admin API. Issuing and revoking stay with ``CertificateAuthority``, ``EnrollmentService``
/// and ``Revocation``, which also publishes the CRL the broker enforces.
extension IdentityStore {
    struct Certificate: Codable, Sendable, Equatable {
        let serial: String
        let subject: String
        let purpose: String
        let notBefore: Date
        let notAfter: Date
        let issuedAt: Date
        let revokedAt: Date?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(serial, forKey: AnyKey(stringValue: "serial"))
            try container.encode(subject, forKey: AnyKey(stringValue: "subject"))
            try container.encode(purpose, forKey: AnyKey(stringValue: "purpose"))
            try container.encode(notBefore, forKey: AnyKey(stringValue: "notBefore"))
            try container.encode(notAfter, forKey: AnyKey(stringValue: "notAfter"))
            try container.encode(issuedAt, forKey: AnyKey(stringValue: "issuedAt"))
            try container.encode(revokedAt, forKey: AnyKey(stringValue: "revokedAt"))
        }
    }

    /// An enrollment token's record; the secret itself is never stored, so never shown.
    struct EnrollmentToken: Codable, Sendable, Equatable {
        let device: String
        let createdAt: Date
        let expiresAt: Date
        let usedAt: Date?
        let usedSerial: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(device, forKey: AnyKey(stringValue: "device"))
            try container.encode(createdAt, forKey: AnyKey(stringValue: "createdAt"))
            try container.encode(expiresAt, forKey: AnyKey(stringValue: "expiresAt"))
            try container.encode(usedAt, forKey: AnyKey(stringValue: "usedAt"))
            try container.encode(usedSerial, forKey: AnyKey(stringValue: "usedSerial"))
        }
    }

    /// A device's certificates, newest first.
    func certificates(device: String) async throws -> [Certificate] {
        let rows = try await client.query(
            """
            SELECT serial, subject, purpose, not_before, not_after, issued_at, revoked_at FROM certificates
            WHERE device_id = \(device) ORDER BY issued_at DESC, serial LIMIT 1000
            """, logger: logger)
        var certificates: [Certificate] = []
        for try await (serial, subject, purpose, notBefore, notAfter, issuedAt, revokedAt) in rows.decode(
            (String, String, String, Date, Date, Date, Date?).self)
        {
            certificates.append(Certificate(serial: serial, subject: subject, purpose: purpose, notBefore: notBefore, notAfter: notAfter,
                                            issuedAt: issuedAt, revokedAt: revokedAt))
        }
        return certificates
    }

    /// Tokens newest first; `pending` keeps only unused, unexpired ones.
    func enrollmentTokens(pending: Bool, device: String?, limit: Int) async throws -> [EnrollmentToken] {
        let rows = try await client.query(
            """
            SELECT device_id, created_at, expires_at, used_at, used_serial FROM enrollment_tokens
            WHERE (NOT \(pending) OR (used_at IS NULL AND expires_at > now()))
              AND (\(device)::text IS NULL OR device_id = \(device)::text)
            ORDER BY created_at DESC LIMIT \(limit)
            """, logger: logger)
        var tokens: [EnrollmentToken] = []
        for try await (device, createdAt, expiresAt, usedAt, usedSerial) in rows.decode((String, Date, Date, Date?, String?).self) {
            tokens.append(EnrollmentToken(device: device, createdAt: createdAt, expiresAt: expiresAt, usedAt: usedAt, usedSerial: usedSerial))
        }
        return tokens
    }
}
