@preconcurrency import Crypto
import Foundation
import Logging
import PostgresNIO

/// Login, refresh and logout: short-lived ES256 access tokens plus rotating refresh tokens.
///
/// A refresh token is used once: refreshing marks it used and issues the next one in the
/// same family. Presenting a used token again means a copy is in someone
/// else's hands, so the whole family is revoked and both parties must log in again.
public struct SessionService: Sendable {
    /// What login and refresh return.
    public struct Tokens: Codable, Sendable {
        public let accessToken: String
        public let tokenType: String
        /// Seconds until the access token expires.
        public let expiresIn: Int
        public let refreshToken: String
        public let role: Role
        /// True after an admin's password reset: change the password (`POST /me/password`) first.
        public let mustChangePassword: Bool
    }

    let client: PostgresClient
    let keyring: SigningKeyring
    let users: UsersStore
    let logger: Logger
    let accessTokenLifetime: Duration
    let refreshTokenLifetime: Duration

    init(client: PostgresClient, keyring: SigningKeyring, users: UsersStore, logger: Logger,
         accessTokenLifetime: Duration, refreshTokenLifetime: Duration) {
        self.client = client
        self.keyring = keyring
        self.users = users
        self.logger = logger
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
    }

    /// Starts a new refresh family for a user who just proved their password.
    func startSession(for user: UsersStore.User) async throws -> Tokens {
        let refresh = SecretToken.generate()
        let family = UUID().uuidString
        try await client.query(
            """
            INSERT INTO api_refresh_tokens (family_id, user_id, token_hash, expires_at)
            VALUES (\(family)::uuid, \(user.id)::uuid, \(Data(SecretToken.hash(refresh))),
                    now() + make_interval(secs => \(refreshTokenLifetime.wholeSeconds)))
            """, logger: logger)
        return try await tokens(for: user, refresh: refresh)
    }

    enum RefreshOutcome {
        case rotated(UsersStore.User, String)
        case reused(userID: String, family: String)
        case invalid
    }

    /// Rotates a refresh token. Reuse revokes the family, commits, and then throws
    /// `refresh_token_reused`.
    func refresh(_ presented: String, origin: AuditLog.Origin, audit: AuditLog) async throws -> Tokens {
        let hash = Data(SecretToken.hash(presented))
        let lifetime = refreshTokenLifetime.wholeSeconds
        let outcome: RefreshOutcome = try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id::text, family_id::text, user_id::text, used_at IS NOT NULL, revoked_at IS NOT NULL, expires_at < now()
                FROM api_refresh_tokens WHERE token_hash = \(hash) FOR UPDATE
                """, logger: logger)
            var row: (String, String, String, Bool, Bool, Bool)?
            for try await found in rows.decode((String, String, String, Bool, Bool, Bool).self) { row = found }
            guard let (id, family, userID, used, revoked, expired) = row else { return .invalid }
            if used {
                try await connection.query(
                    "UPDATE api_refresh_tokens SET revoked_at = now() WHERE family_id = \(family)::uuid AND revoked_at IS NULL",
                    logger: logger)
                return .reused(userID: userID, family: family)
            }
            if revoked || expired { return .invalid }
            try await connection.query("UPDATE api_refresh_tokens SET used_at = now() WHERE id = \(id)::uuid", logger: logger)
            var user: UsersStore.User?
            let userRows = try await connection.query(
                """
                SELECT username, role, created_at, must_change_password FROM api_users
                WHERE id = \(userID)::uuid AND disabled_at IS NULL
                """, logger: logger)
            for try await (username, role, createdAt, mustChange) in userRows.decode((String, String, Date, Bool).self) {
                user = UsersStore.User(id: userID, username: username, role: Role(rawValue: role) ?? .viewer, createdAt: createdAt,
                                      disabled: false, mustChangePassword: mustChange)
            }
            guard let user else { return .invalid }
            let next = SecretToken.generate()
            try await connection.query(
                """
                INSERT INTO api_refresh_tokens (family_id, user_id, token_hash, expires_at)
                VALUES (\(family)::uuid, \(userID)::uuid, \(Data(SecretToken.hash(next))), now() + make_interval(secs => \(lifetime)))
                """, logger: logger)
            return .rotated(user, next)
        }
        switch outcome {
        case .rotated(let user, let next):
            return try await tokens(for: user, refresh: next)
        case .reused(let userID, let family):
            try await audit.record("auth.refresh_reuse", target: "user-id:\(userID)", detail: ["family": family], origin: origin)
            logger.warning("refresh token reused; family revoked", metadata: ["family": "\(family)"])
            throw APIError(.unauthorized, .refreshTokenReused, "this refresh token was already used; every session of its family is revoked")
        case .invalid:
            throw APIError(.unauthorized, .invalidToken, "the refresh token is not valid")
        }
    }

    /// Revokes the family of `presented`; an unknown token is not an error (idempotent).
    /// Returns the user id when a family was found.
    func logout(_ presented: String) async throws -> String? {
        let rows = try await client.query(
            """
            UPDATE api_refresh_tokens SET revoked_at = now()
            WHERE family_id = (SELECT family_id FROM api_refresh_tokens WHERE token_hash = \(Data(SecretToken.hash(presented))))
              AND revoked_at IS NULL
            RETURNING user_id::text
            """, logger: logger)
        var userID: String?
        for try await id in rows.decode(String.self) { userID = id }
        return userID
    }

    private func tokens(for user: UsersStore.User, refresh: String) async throws -> Tokens {
        let (kid, key) = try await keyring.signingKey()
        let now = Int64(Date().timeIntervalSince1970)
        let lifetime = accessTokenLifetime.wholeSeconds
        let claims = AccessTokenClaims(
            iss: AccessTokenClaims.issuer, aud: AccessTokenClaims.audience, sub: user.id, name: user.username, role: user.role,
            iat: now, exp: now + Int64(lifetime), jti: SecretToken.generate(bytes: 12), pwc: user.mustChangePassword ? true : nil)
        return Tokens(accessToken: try AccessToken.sign(claims, key: key, kid: kid), tokenType: "Bearer", expiresIn: lifetime,
                      refreshToken: refresh, role: user.role, mustChangePassword: user.mustChangePassword)
    }
}

extension Duration {
    var wholeSeconds: Int { Int(components.seconds) }
}
