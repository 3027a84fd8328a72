import Foundation
import Logging
import PostgresNIO

/// The admin API's read-only view of enrollment tokens. Creating and expiring them stay with
/// ``EnrollmentTokenIssuer`` and ``IdentityOperations``.
extension EnrollmentTokensStore {
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

    /// Tokens newest first; `pending` keeps only unused, unexpired ones.
    func list(pending: Bool, device: String?, limit: Int) async throws -> [EnrollmentToken] {
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
