import Foundation
@testable import OutpostAggregator
import PostgresNIO
import Testing
import TestHarness

/// API-key authentication without a database round trip on the hot path, and its revocation bound.
@Suite("API key cache: no query for a recently verified key, revocation within the bound")
struct APIKeyCacheTests {
    let principal = Principal(kind: .apiKey, id: "00000000000000aa", name: "ci", role: .viewer)
    let hash = SecretToken.hash("secret")

    @Test("a verified key answers from memory until the bound, for the same secret only, with its expiry checked on every hit")
    func lookups() {
        var cache = APIKeyCache(lifetimeMs: 5_000, capacity: 10)
        let now = Date()
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now, nowMs: 0) == .unknown)
        cache.remember(id: principal.id, secretHash: hash, principal: principal, expiresAt: now.addingTimeInterval(60), nowMs: 1_000)
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now, nowMs: 1_000) == .verified(principal))
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now, nowMs: 5_999) == .verified(principal))
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now, nowMs: 6_000) == .unknown, "the bound: ask PostgreSQL again")
        #expect(cache.lookup(id: principal.id, secretHash: SecretToken.hash("other"), now: now, nowMs: 1_000) == .unknown)
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now.addingTimeInterval(60), nowMs: 1_000) == .expired)
        cache.forget(id: principal.id)
        #expect(cache.lookup(id: principal.id, secretHash: hash, now: now, nowMs: 1_000) == .unknown)
    }

    @Test("at capacity, stale verifications go first, then the oldest; the cache never grows past its capacity")
    func capacity() {
        var cache = APIKeyCache(lifetimeMs: 1_000, capacity: 3)
        let expires = Date().addingTimeInterval(60)
        for (index, at) in [Int64(0), 100, 2_000].enumerated() {
            cache.remember(id: "k\(index)", secretHash: hash, principal: principal, expiresAt: expires, nowMs: at)
        }
        cache.remember(id: "k3", secretHash: hash, principal: principal, expiresAt: expires, nowMs: 2_500)
        #expect(Set(cache.entries.keys) == ["k2", "k3"], "the two stale ones were dropped")
        cache.remember(id: "k4", secretHash: hash, principal: principal, expiresAt: expires, nowMs: 2_600)
        cache.remember(id: "k5", secretHash: hash, principal: principal, expiresAt: expires, nowMs: 2_700)
        #expect(cache.entries.count == 3)
        #expect(Set(cache.entries.keys) == ["k3", "k4", "k5"], "the oldest verification was dropped")
    }

    @Test("with PostgreSQL: hits need no row at all; a key removed behind the aggregator's back is refused within the bound; revoke is immediate")
    func againstPostgres() async throws {
        try await APITestEnvironment.with { env in
            // Long enough that the psql in between cannot outlast it on a loaded machine.
            let bound: Int64 = 10_000
            let store = APIKeysStore(client: env.client, logger: env.logger, revocationBoundMs: bound)
            let audit = AuditLog(client: env.client, logger: env.logger)
            let created = try await store.create(name: "cache", role: .operator, expiresAt: Date().addingTimeInterval(3_600),
                                                 origin: .cli(account: "test"), audit: audit)
            let verifiedAt = ContinuousClock.now
            #expect(try await store.authenticate(created.secret).role == .operator)
            #expect(try await env.psql("SELECT last_used_at IS NOT NULL FROM api_keys WHERE id = '\(created.key.id)'") == "t")

            // Another aggregator revokes it (here: SQL). Until the bound this one still answers from memory,
            // which proves the hot path reads nothing; then it asks PostgreSQL and refuses.
            try await env.psql("UPDATE api_keys SET revoked_at = now() WHERE id = '\(created.key.id)'")
            #expect(try await store.authenticate(created.secret).id == created.key.id)
            try await waitUntil(timeout: .seconds(40), "the revoked key refused") {
                do {
                    _ = try await store.authenticate(created.secret)
                    return false
                } catch let error as APIError {
                    #expect(error.code == .invalidToken)
                    return true
                }
            }
            #expect(verifiedAt.duration(to: .now) >= .milliseconds(bound), "not before the bound")

            // Revoked through this aggregator: refused at once, cache or not.
            let second = try await store.create(name: "cache 2", role: .viewer, expiresAt: Date().addingTimeInterval(3_600),
                                                origin: .cli(account: "test"), audit: audit)
            #expect(try await store.authenticate(second.secret).role == .viewer)
            #expect(try await store.revoke(id: second.key.id, origin: .cli(account: "test"), audit: audit))
            let refused = await #expect(throws: APIError.self) { _ = try await store.authenticate(second.secret) }
            #expect(refused?.code == .invalidToken)
            // A wrong secret for a cached id is never answered from memory.
            let third = try await store.create(name: "cache 3", role: .viewer, expiresAt: Date().addingTimeInterval(3_600),
                                               origin: .cli(account: "test"), audit: audit)
            #expect(try await store.authenticate(third.secret).role == .viewer)
            let forged = "opk_\(third.key.id)_" + String(repeating: "A", count: 43)
            let wrong = await #expect(throws: APIError.self) { _ = try await store.authenticate(forged) }
            #expect(wrong?.code == .invalidToken)
        }
    }
}
