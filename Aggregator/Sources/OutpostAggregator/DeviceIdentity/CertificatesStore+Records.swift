import Foundation
import Logging
import PostgresNIO

/// The admin API's read-only view of issued certificates. Issuing and revoking stay with
/// ``CertificateAuthority``, ``EnrollmentService`` and ``Revocation``, which also publishes
/// the CRL the broker enforces.
extension CertificatesStore {
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

    /// A device's certificates, newest first.
    func list(device: String) async throws -> [Certificate] {
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
}
