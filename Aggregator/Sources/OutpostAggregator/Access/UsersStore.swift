import Crypto
import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import PostgresNIO

/// Admin API users: bcrypt password hashes and a role. No user exists until an operator
/// creates one (`outpost-aggregator user create`); there are no default credentials.
public struct UsersStore: Sendable {
    public struct User: Codable, Sendable, Equatable {
        public let id: String
        public let username: String
        public let role: Role
        public let createdAt: Date
        public let disabled: Bool
        /// Set by an admin's password reset until the user chooses a new password.
        public var mustChangePassword: Bool = false
    }

    let client: PostgresPool
    let logger: Logger
    /// bcrypt cost; 12 in production (about a quarter second per check on one core).
    let bcryptCost: UInt8
    /// A hash of a random string at the same cost, checked when the username is unknown.
    private let decoyHash: String

    public init(client: PostgresPool, logger: Logger, bcryptCost: UInt8 = 12) {
        self.client = client
        self.logger = logger
        self.bcryptCost = bcryptCost
        decoyHash = Bcrypt.hash(SecretToken.generate(), cost: bcryptCost)
    }

    public static func isValidUsername(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9][a-z0-9._-]{0,62}$", options: .regularExpression) != nil
    }

    /// Longest password, in characters (Unicode scalars, as JSON Schema's `maxLength` counts).
    public static let maxPasswordCharacters = 72

    /// Passwords of 12 to 72 characters, counted as Unicode scalars like the OpenAPI
    /// document's `minLength`/`maxLength`.
    public static func passwordProblem(_ password: String) -> String? {
        let length = password.unicodeScalars.count
        if length < 12 { return "password must be at least 12 characters" }
        if length > maxPasswordCharacters { return "password must be at most \(maxPasswordCharacters) characters" }
        return nil
    }

    /// What bcrypt hashes: the password itself up to 72 bytes (all bcrypt reads), else
    /// `sha256:` and its SHA-256 in base64 (51 bytes), so a long non-ASCII password is never
    /// cut short. Passwords of up to 72 bytes hash as they always did.
    static func bcryptInput(_ password: String) -> String {
        guard password.utf8.count > 72 else { return password }
        return "sha256:" + Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }

    /// Creates a user and writes the audit entry; `conflict` when the name is taken.
    public func create(username: String, password: String, role: Role, origin: AuditLog.Origin, audit: AuditLog) async throws -> User {
        guard Self.isValidUsername(username) else {
            throw APIError.validation("username must match [a-z0-9][a-z0-9._-]{0,62}")
        }
        if let problem = Self.passwordProblem(password) { throw APIError.validation(problem) }
        let cost = bcryptCost
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(Self.bcryptInput(password), cost: cost) }
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
            """
            SELECT id::text, username, role, created_at, disabled_at IS NOT NULL, must_change_password FROM api_users ORDER BY username
            """, logger: logger)
        for try await (id, username, role, createdAt, disabled, mustChange) in rows.decode((String, String, String, Date, Bool, Bool).self) {
            users.append(User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: disabled,
                              mustChangePassword: mustChange))
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
                RETURNING id::text, role, created_at, disabled_at IS NOT NULL, must_change_password
                """, logger: logger)
            var user: User?
            for try await (id, role, createdAt, isDisabled, mustChange) in rows.decode((String, String, Date, Bool, Bool).self) {
                user = User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: isDisabled,
                            mustChangePassword: mustChange)
            }
            guard let user else { return nil }
            try await RefreshTokensStore.revokeAll(userID: user.id, on: connection, logger: logger)
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
                SELECT id::text, role, created_at, password_hash, must_change_password FROM api_users
                WHERE username = \(username) AND disabled_at IS NULL
                """, logger: logger)
            for try await (id, role, createdAt, hash, mustChange) in rows.decode((String, String, Date, String, Bool).self) {
                found = (User(id: id, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt, disabled: false,
                              mustChangePassword: mustChange), hash)
            }
        }
        let hash = found?.hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(Self.bcryptInput(password), hash: hash) }
        guard matches, let found else { return nil }
        return found.user
    }

    /// Changes the password of the user `userID` after checking `current`: clears the
    /// must-change flag and revokes every refresh token of the user, so other sessions end
    /// at their next refresh. Throws 401 `invalid_credentials` for a wrong current password,
    /// 422 when the new one breaks the rules or equals the current one.
    public func changePassword(userID: String, current: String, new: String, origin: AuditLog.Origin, audit: AuditLog) async throws {
        if let problem = Self.passwordProblem(new) { throw APIError.validation(problem) }
        guard new != current else { throw APIError.validation("newPassword must differ from currentPassword") }
        var found: (username: String, hash: String)?
        let rows = try await client.query(
            "SELECT username, password_hash FROM api_users WHERE id = \(userID)::uuid AND disabled_at IS NULL", logger: logger)
        for try await (username, hash) in rows.decode((String, String).self) { found = (username, hash) }
        let hash = found?.hash ?? decoyHash
        var matches = false
        if current.unicodeScalars.count <= Self.maxPasswordCharacters {
            matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(Self.bcryptInput(current), hash: hash) }
        }
        guard matches, let found else {
            try await audit.record("user.password_change_failed", target: "user-id:\(userID)", origin: origin)
            throw APIError(.unauthorized, .invalidCredentials, "the current password is wrong")
        }
        try await setPassword(userID: userID, password: new, mustChange: false)
        try await audit.record("user.password_change", target: "user:\(found.username)", origin: origin)
    }

    /// Sets a new random one-time password for `username`, which must be changed at the next
    /// login, and revokes every refresh token of the user. Nil when no such user.
    public func resetPassword(username: String, origin: AuditLog.Origin, audit: AuditLog) async throws -> String? {
        guard Self.isValidUsername(username) else { return nil }
        var userID: String?
        let rows = try await client.query("SELECT id::text FROM api_users WHERE username = \(username)", logger: logger)
        for try await id in rows.decode(String.self) { userID = id }
        guard let userID else { return nil }
        let oneTime = SecretToken.generate(bytes: 18)
        try await setPassword(userID: userID, password: oneTime, mustChange: true)
        try await audit.record("user.password_reset", target: "user:\(username)", origin: origin)
        return oneTime
    }

    private func setPassword(userID: String, password: String, mustChange: Bool) async throws {
        let cost = bcryptCost
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(Self.bcryptInput(password), cost: cost) }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                "UPDATE api_users SET password_hash = \(hash), must_change_password = \(mustChange) WHERE id = \(userID)::uuid",
                logger: logger)
            try await RefreshTokensStore.revokeAll(userID: userID, on: connection, logger: logger)
        }
    }

    /// The enabled user `id` inside another store's transaction (a refresh token's rotation), or nil.
    static func enabledUser(id userID: String, on connection: PostgresConnection, logger: Logger) async throws -> User? {
        let rows = try await connection.query(
            """
            SELECT username, role, created_at, must_change_password FROM api_users
            WHERE id = \(userID)::uuid AND disabled_at IS NULL
            """, logger: logger)
        var user: User?
        for try await (username, role, createdAt, mustChange) in rows.decode((String, String, Date, Bool).self) {
            user = User(id: userID, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt,
                        disabled: false, mustChangePassword: mustChange)
        }
        return user
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
