import Foundation
import Logging
import PostgresNIO

/// The `api_refresh_tokens` table: the refresh tokens ``SessionService`` rotates, stored as
/// hashes, one family per login. Changing a user's password, role or state revokes all of
/// theirs inside ``UsersStore``'s transaction (``revokeAll(userID:on:logger:)``).
struct RefreshTokensStore: Sendable {
    /// What ``rotate(hash:nextHash:lifetimeSeconds:)`` found.
    enum Rotation {
        case rotated(UsersStore.User)
        case reused(userID: String, family: String)
        case invalid
    }

    let client: PostgresPool
    let logger: Logger

    /// Starts a new family for `userID` with the token hashed as `hash`.
    func startFamily(userID: String, hash: Data, lifetimeSeconds: Int) async throws {
        let family = UUID().uuidString
        try await client.query(
            """
            INSERT INTO api_refresh_tokens (family_id, user_id, token_hash, expires_at)
            VALUES (\(family)::uuid, \(userID)::uuid, \(hash),
                    now() + make_interval(secs => \(lifetimeSeconds)))
            """, logger: logger)
    }

    /// In one transaction: a used token revokes its whole family (`reused`, committed); a
    /// revoked, expired or unknown one, or one whose user is disabled, is `invalid`; otherwise
    /// the token is marked used and `nextHash` stored as the family's next token.
    func rotate(hash: Data, nextHash: Data, lifetimeSeconds lifetime: Int) async throws -> Rotation {
        try await client.withTransaction(logger: logger) { connection in
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
            guard let user = try await UsersStore.enabledUser(id: userID, on: connection, logger: logger) else { return .invalid }
            try await connection.query(
                """
                INSERT INTO api_refresh_tokens (family_id, user_id, token_hash, expires_at)
                VALUES (\(family)::uuid, \(userID)::uuid, \(nextHash), now() + make_interval(secs => \(lifetime)))
                """, logger: logger)
            return .rotated(user)
        }
    }

    /// Revokes the family of the token hashed as `hash`; returns its user id, or nil when the
    /// token is unknown.
    func revokeFamily(hash: Data) async throws -> String? {
        let rows = try await client.query(
            """
            UPDATE api_refresh_tokens SET revoked_at = now()
            WHERE family_id = (SELECT family_id FROM api_refresh_tokens WHERE token_hash = \(hash))
              AND revoked_at IS NULL
            RETURNING user_id::text
            """, logger: logger)
        var userID: String?
        for try await id in rows.decode(String.self) { userID = id }
        return userID
    }

    /// Revokes every refresh token of the user inside another store's transaction (a password,
    /// role or state change).
    static func revokeAll(userID: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE api_refresh_tokens SET revoked_at = now() WHERE user_id = \(userID)::uuid AND revoked_at IS NULL", logger: logger)
    }
}
