import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import PostgresNIO

/// Admin API users: bcrypt password hashes and a role. No user exists until an operator
/// creates one (`outpost-aggregator user create`); there are no default credentials.
public struct UserStore: Sendable {
    public struct User: Codable, Sendable, Equatable {
        public let id: String
        public let username: String
        public let role: Role
        public let createdAt: Date
        public let disabled: Bool
    }

    let client: PostgresClient
    let logger: Logger
    /// bcrypt cost; 12 in production (about a quarter second per check on one core).
    let bcryptCost: UInt8
    /// A hash of a random string at the same cost, checked when the username is unknown.
    private let decoyHash: String

    public init(client: PostgresClient, logger: Logger, bcryptCost: UInt8 = 12) {
        self.client = client
        self.logger = logger
        self.bcryptCost = bcryptCost
        decoyHash = Bcrypt.hash(SecretToken.generate(), cost: bcryptCost)
    }

    public static func isValidUsername(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9][a-z0-9._-]{0,62}$", options: .regularExpression) != nil
    }

    /// Passwords of 12 to 72 bytes (bcrypt reads no further than 72).
    public static func passwordProblem(_ password: String) -> String? {
        let length = password.utf8.count
        if length < 12 { return "password must be at least 12 characters" }
        if length > 72 { return "password must be at most 72 bytes" }
        return nil
    }

    /// Creates a user and writes the audit entry; `conflict` when the name is taken.
    public func create(username: String, password: String, role: Role, origin: AuditLog.Origin, audit: AuditLog) async throws -> User {
        guard Self.isValidUsername(username) else {
            throw APIError.validation("username must match [a-z0-9][a-z0-9._-]{0,62}")
        }
        if let problem = Self.passwordProblem(password) { throw APIError.validation(problem) }
        let cost = bcryptCost
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
        let rows = try await client.query(
            """
            INSERT INTO api_users (username, password_hash, role) VALUES (\(username), \(hash), \(role.rawValue))
            ON CONFLICT (username) DO NOTHING RETURNING id::text, created_at
            """, logger: logger)
        var created: User?
        for try await (id, createdAt) in rows.decode((String, Date).self) {
            created = User(id: id, username: username, role: role, createdAt: createdAt, disabled: false)
        }
        guard let created else { throw APIError(.conflict, .conflict, "user '\(username)' already exists") }
        try await audit.record("user.create", target: "user:\(username)", detail: ["role": role.rawValue], origin: origin)
        return created
    }

    public func list() async throws -> [User] {
        var users: [User] = []
        let rows = try await client.query(
            "SELECT id::text, username, role, created_at, disabled_at IS NOT NULL FROM api_users ORDER BY username", logger: logger)
        for try await (id, username, role, createdAt, disabled) in rows.decode((String, String, String, Date, Bool).self) {
            users.append(User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: disabled))
        }
        return users
    }

    /// Changes a user's role or disables/enables the account. Either change revokes every
    /// refresh token of the user, so the next refresh cannot carry the old role; access
    /// tokens already issued run out within their lifetime. Nil when no such user.
    public func update(username: String, role: Role?, disabled: Bool?, origin: AuditLog.Origin, audit: AuditLog) async throws -> User? {
        guard Self.isValidUsername(username) else { return nil }
        let updated: User? = try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE api_users SET role = coalesce(\(role?.rawValue)::text, role),
                  disabled_at = CASE WHEN \(disabled)::boolean IS NULL THEN disabled_at
                                     WHEN \(disabled)::boolean THEN coalesce(disabled_at, now()) ELSE NULL END
                WHERE username = \(username)
                RETURNING id::text, role, created_at, disabled_at IS NOT NULL
                """, logger: logger)
            var user: User?
            for try await (id, role, createdAt, isDisabled) in rows.decode((String, String, Date, Bool).self) {
                user = User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: isDisabled)
            }
            guard let user else { return nil }
            try await connection.query(
                "UPDATE api_refresh_tokens SET revoked_at = now() WHERE user_id = \(user.id)::uuid AND revoked_at IS NULL", logger: logger)
            return user
        }
        guard let updated else { return nil }
        var detail: [String: String] = [:]
        if let role { detail["role"] = role.rawValue }
        if let disabled { detail["disabled"] = "\(disabled)" }
        try await audit.record("user.update", target: "user:\(username)", detail: detail, origin: origin)
        return updated
    }

    /// The user if the password matches and the account is enabled. Unknown names cost a
    /// bcrypt check too, so timing does not tell which usernames exist.
    func authenticate(username: String, password: String) async throws -> User? {
        var found: (user: User, hash: String)?
        if Self.isValidUsername(username) {
            let rows = try await client.query(
                """
                SELECT id::text, role, created_at, password_hash FROM api_users
                WHERE username = \(username) AND disabled_at IS NULL
                """, logger: logger)
            for try await (id, role, createdAt, hash) in rows.decode((String, String, Date, String).self) {
                found = (User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: false), hash)
            }
        }
        let hash = found?.hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard matches, let found else { return nil }
        return found.user
    }

    /// The current role of an enabled user, or nil; refresh re-reads it, so a demotion
    /// or a disabled account takes effect at the next refresh.
    func activeUser(id: String) async throws -> User? {
        let rows = try await client.query(
            "SELECT username, role, created_at FROM api_users WHERE id = \(id)::uuid AND disabled_at IS NULL", logger: logger)
        for try await (username, role, createdAt) in rows.decode((String, String, Date).self) {
            return User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: false)
        }
        return nil
    }
}
