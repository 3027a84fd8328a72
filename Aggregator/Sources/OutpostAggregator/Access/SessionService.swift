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

    let refreshTokens: RefreshTokensStore
    let keyring: SigningKeyring
    let users: UsersStore
    let logger: Logger
    let accessTokenLifetime: Duration
    let refreshTokenLifetime: Duration

    init(client: PostgresPool, keyring: SigningKeyring, users: UsersStore, logger: Logger,
         accessTokenLifetime: Duration, refreshTokenLifetime: Duration) {
        refreshTokens = RefreshTokensStore(client: client, logger: logger)
        self.keyring = keyring
        self.users = users
        self.logger = logger
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
    }

    /// Starts a new refresh family for a user who just proved their password.
    func startSession(for user: UsersStore.User) async throws -> Tokens {
        let refresh = SecretToken.generate()
        try await refreshTokens.startFamily(userID: user.id, hash: Data(SecretToken.hash(refresh)),
                                            lifetimeSeconds: refreshTokenLifetime.wholeSeconds)
        return try await tokens(for: user, refresh: refresh)
    }

    /// Rotates a refresh token. Reuse revokes the family, commits, and then throws
    /// `refresh_token_reused`.
    func refresh(_ presented: String, origin: AuditLog.Origin, audit: AuditLog) async throws -> Tokens {
        let next = SecretToken.generate()
        switch try await refreshTokens.rotate(hash: Data(SecretToken.hash(presented)), nextHash: Data(SecretToken.hash(next)),
                                              lifetimeSeconds: refreshTokenLifetime.wholeSeconds) {
        case .rotated(let user):
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
        try await refreshTokens.revokeFamily(hash: Data(SecretToken.hash(presented)))
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
