import Foundation
import Logging
import PostgresNIO
import Synchronization

/// API keys for automation: `opk_{id}_{secret}`, shown once at creation, stored as the
/// SHA-256 of the secret, each with a role and an expiry.
public struct APIKeysStore: Sendable {
    public struct Key: Codable, Sendable, Equatable {
        public let id: String
        public let name: String
        public let role: Role
        public let createdBy: String
        public let createdAt: Date
        public let expiresAt: Date
        public let revoked: Bool
        public let lastUsedAt: Date?

        /// Absent values are written as `null`, so every documented field is always present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(id, forKey: AnyKey(stringValue: "id"))
            try container.encode(name, forKey: AnyKey(stringValue: "name"))
            try container.encode(role, forKey: AnyKey(stringValue: "role"))
            try container.encode(createdBy, forKey: AnyKey(stringValue: "createdBy"))
            try container.encode(createdAt, forKey: AnyKey(stringValue: "createdAt"))
            try container.encode(expiresAt, forKey: AnyKey(stringValue: "expiresAt"))
            try container.encode(revoked, forKey: AnyKey(stringValue: "revoked"))
            try container.encode(lastUsedAt, forKey: AnyKey(stringValue: "lastUsedAt"))
        }
    }

    /// A new key with its secret, the only time the secret is visible.
    public struct Created: Codable, Sendable {
        public let key: Key
        public let secret: String
    }

    static let prefix = "opk_"
    /// Longest lifetime a key may have: 400 days.
    static let maximumLifetime: TimeInterval = 400 * 86_400

    /// Keys verified recently, shared by every copy of this store (``APIKeyCache``).
    final class VerifiedKeys: Sendable {
        let cache: Mutex<APIKeyCache>
        let clock = ContinuousClock()
        let epoch: ContinuousClock.Instant

        init(_ cache: APIKeyCache) {
            self.cache = Mutex(cache)
            epoch = clock.now
        }

        var nowMs: Int64 {
            let elapsed = epoch.duration(to: clock.now).components
            return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        }
    }

    let client: PostgresPool
    let logger: Logger
    let verified: VerifiedKeys

    /// - Parameter revocationBoundMs: how long a verified key is trusted without a query; a key revoked
    ///   elsewhere (another aggregator, the CLI, SQL) is refused at the latest this much later. Defaults to 5 s.
    public init(client: PostgresPool, logger: Logger, revocationBoundMs: Int64 = 5_000) {
        self.client = client
        self.logger = logger
        self.verified = VerifiedKeys(APIKeyCache(lifetimeMs: revocationBoundMs))
    }

    public func create(name: String, role: Role, expiresAt: Date, origin: AuditLog.Origin, audit: AuditLog) async throws -> Created {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.unicodeScalars.count), !trimmed.isEmpty else {
            throw APIError.validation("name must be 1-100 characters, not only spaces")
        }
        let lifetime = expiresAt.timeIntervalSinceNow
        guard lifetime > 60, lifetime <= Self.maximumLifetime else {
            throw APIError.validation("expiresAt must be between one minute and 400 days from now")
        }
        var generator = SystemRandomNumberGenerator()
        let id = String(generator.next() as UInt64, radix: 16).leftPadded(to: 16)
        let secret = SecretToken.generate()
        let creator = origin.principal?.name ?? "unknown"
        let rows = try await client.query(
            """
            INSERT INTO api_keys (id, name, key_hash, role, created_by, expires_at)
            VALUES (\(id), \(trimmed), \(Data(SecretToken.hash(secret))), \(role.rawValue), \(creator), \(expiresAt))
            RETURNING created_at
            """, logger: logger)
        var createdAt = Date()
        for try await at in rows.decode(Date.self) { createdAt = at }
        try await audit.record("api_key.create", target: "api_key:\(id)",
                               detail: ["name": trimmed, "role": role.rawValue, "expiresAt": "\(expiresAt)"], origin: origin)
        let key = Key(id: id, name: trimmed, role: role, createdBy: creator, createdAt: createdAt, expiresAt: expiresAt,
                      revoked: false, lastUsedAt: nil)
        return Created(key: key, secret: "\(Self.prefix)\(id)_\(secret)")
    }

    public func list() async throws -> [Key] {
        var keys: [Key] = []
        let rows = try await client.query(
            """
            SELECT id, name, role, created_by, created_at, expires_at, revoked_at IS NOT NULL, last_used_at
            FROM api_keys ORDER BY created_at DESC, id
            """, logger: logger)
        for try await (id, name, role, createdBy, createdAt, expiresAt, revoked, lastUsed) in rows.decode(
            (String, String, String, String, Date, Date, Bool, Date?).self)
        {
            keys.append(Key(id: id, name: name, role: Role(rawValue: role) ?? .viewer, createdBy: createdBy, createdAt: createdAt,
                            expiresAt: expiresAt, revoked: revoked, lastUsedAt: lastUsed))
        }
        return keys
    }

    /// Revokes a key at once; false when no such key.
    public func revoke(id: String, origin: AuditLog.Origin, audit: AuditLog) async throws -> Bool {
        guard Self.isValidID(id) else { return false }
        let rows = try await client.query(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id) RETURNING id", logger: logger)
        var found = false
        for try await _ in rows.decode(String.self) { found = true }
        verified.cache.withLock { $0.forget(id: id) }
        if found { try await audit.record("api_key.revoke", target: "api_key:\(id)", origin: origin) }
        return found
    }

    /// The principal for a presented key, or `invalid_token`. A key verified within the
    /// revocation bound costs no query; otherwise one SELECT, and at most once a minute per key
    /// an UPDATE of `last_used_at` (so it is exact to about a minute plus the bound).
    func authenticate(_ presented: String) async throws -> Principal {
        let invalid = APIError(.unauthorized, .invalidToken, "the API key is not valid", headers: [.wwwAuthenticate: "Bearer"])
        guard presented.hasPrefix(Self.prefix) else { throw invalid }
        let body = presented.dropFirst(Self.prefix.count)
        guard let underscore = body.firstIndex(of: "_") else { throw invalid }
        let id = String(body[..<underscore])
        let secret = String(body[body.index(after: underscore)...])
        guard Self.isValidID(id), !secret.isEmpty, secret.utf8.count <= 64 else { throw invalid }
        let expiredError = APIError(.unauthorized, .tokenExpired, "the API key has expired", headers: [.wwwAuthenticate: "Bearer"])
        let presentedHash = SecretToken.hash(secret)
        switch verified.cache.withLock({ $0.lookup(id: id, secretHash: presentedHash, now: Date(), nowMs: verified.nowMs) }) {
        case .verified(let principal): return principal
        case .expired: throw expiredError
        case .unknown: break
        }
        let rows = try await client.query(
            """
            SELECT name, key_hash, role, expires_at < now(), expires_at FROM api_keys WHERE id = \(id) AND revoked_at IS NULL
            """, logger: logger)
        var row: (String, Data, String, Bool, Date)?
        for try await found in rows.decode((String, Data, String, Bool, Date).self) { row = found }
        guard let (name, storedHash, role, expired, expiresAt) = row,
              SecretToken.constantTimeEquals(Array(storedHash), presentedHash),
              let role = Role(rawValue: role)
        else { throw invalid }
        if expired { throw expiredError }
        try await client.query(
            """
            UPDATE api_keys SET last_used_at = now()
            WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            """, logger: logger)
        let principal = Principal(kind: .apiKey, id: id, name: name, role: role)
        verified.cache.withLock {
            $0.remember(id: id, secretHash: presentedHash, principal: principal, expiresAt: expiresAt, nowMs: verified.nowMs)
        }
        return principal
    }

    static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 16 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
