@preconcurrency import Crypto
import Foundation
import Logging
import PostgresNIO

/// The P-256 keys that sign access tokens, kept in PostgreSQL (`api_signing_keys`) so
/// that every aggregator verifies what any other issued, and a restart logs nobody out.
///
/// Tokens are signed with the newest key. A token naming an unknown `kid` triggers at
/// most one reload every `reloadInterval`, so forged kids cannot hammer the database.
public actor SigningKeyring {
    private let client: PostgresPool
    private let logger: Logger
    private var keys: [String: P256.Signing.PrivateKey] = [:]
    private var current: (kid: String, key: P256.Signing.PrivateKey)?
    private var lastReload: ContinuousClock.Instant?
    private let reloadInterval: Duration

    public init(client: PostgresPool, logger: Logger, reloadInterval: Duration = .seconds(5)) {
        self.client = client
        self.logger = logger
        self.reloadInterval = reloadInterval
    }

    /// The key to sign with, creating the first one if the table is empty.
    func signingKey() async throws -> (kid: String, key: P256.Signing.PrivateKey) {
        if let current { return current }
        try await reload()
        if let current { return current }
        let key = P256.Signing.PrivateKey()
        let kid = SecretToken.generate(bytes: 9)
        try await client.query(
            "INSERT INTO api_signing_keys (kid, private_key) VALUES (\(kid), \(key.rawRepresentation))", logger: logger)
        logger.notice("created access-token signing key", metadata: ["kid": "\(kid)"])
        try await reload()
        guard let current else { throw StoreError(.notFound, "no signing key after creating one") }
        return current
    }

    /// Verifies an access token. A `kid` not yet known here (a key another aggregator
    /// just created) triggers a reload, at most once per `reloadInterval`.
    func verify(_ token: String, now: Date) async throws(APIError) -> AccessTokenClaims {
        if let kid = AccessToken.keyID(of: token), keys[kid] == nil {
            let instant = ContinuousClock.now
            if lastReload.map({ instant - $0 >= reloadInterval }) ?? true { try? await reload() }
        }
        return try AccessToken.verify(token, now: now) { kid in keys[kid]?.publicKey }
    }

    private func reload() async throws {
        lastReload = .now
        var loaded: [String: P256.Signing.PrivateKey] = [:]
        var newest: (kid: String, key: P256.Signing.PrivateKey)?
        let rows = try await client.query(
            "SELECT kid, private_key FROM api_signing_keys WHERE retired_at IS NULL ORDER BY created_at, kid", logger: logger)
        for try await (kid, raw) in rows.decode((String, Data).self) {
            guard let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) else {
                logger.error("unreadable signing key skipped", metadata: ["kid": "\(kid)"])
                continue
            }
            loaded[kid] = key
            newest = (kid, key)
        }
        keys = loaded
        current = newest
    }
}
