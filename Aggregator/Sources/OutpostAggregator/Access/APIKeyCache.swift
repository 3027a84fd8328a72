import Foundation

/// API keys verified against PostgreSQL in the last `lifetimeMs`, so a request with a key seen
/// recently costs no query and no write. Pure value type; the caller passes the time.
///
/// The lifetime is the revocation bound: a key revoked through this aggregator is dropped at
/// once (``forget(id:)``); one revoked through another aggregator, or by SQL, is refused here
/// at the latest `lifetimeMs` later. Only successful verifications are kept, so a wrong secret
/// always reaches the database; the secret's hash is compared on every hit. Expiry is checked
/// on every hit against the stored `expiresAt`.
struct APIKeyCache: Sendable {
    struct Entry: Sendable {
        var secretHash: [UInt8]
        var principal: Principal
        var expiresAt: Date
        var verifiedAtMs: Int64
    }

    enum Lookup: Equatable {
        case verified(Principal)
        case expired
        /// Not kept (or kept for another secret, or too old): ask PostgreSQL.
        case unknown
    }

    /// Revocation bound. Defaults to 5 s.
    let lifetimeMs: Int64
    /// Most keys kept; past it the oldest verifications are dropped.
    let capacity: Int
    private(set) var entries: [String: Entry] = [:]

    init(lifetimeMs: Int64 = 5_000, capacity: Int = 10_000) {
        precondition(lifetimeMs >= 0 && capacity > 0)
        self.lifetimeMs = lifetimeMs
        self.capacity = capacity
    }

    func lookup(id: String, secretHash: [UInt8], now: Date, nowMs: Int64) -> Lookup {
        guard let entry = entries[id], nowMs - entry.verifiedAtMs < lifetimeMs,
              SecretToken.constantTimeEquals(entry.secretHash, secretHash)
        else { return .unknown }
        return entry.expiresAt <= now ? .expired : .verified(entry.principal)
    }

    mutating func remember(id: String, secretHash: [UInt8], principal: Principal, expiresAt: Date, nowMs: Int64) {
        if entries[id] == nil && entries.count >= capacity {
            entries = entries.filter { nowMs - $0.value.verifiedAtMs < lifetimeMs }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.verifiedAtMs < $1.value.verifiedAtMs }) {
                entries[oldest.key] = nil
            }
        }
        entries[id] = Entry(secretHash: secretHash, principal: principal, expiresAt: expiresAt, verifiedAtMs: nowMs)
    }

    mutating func forget(id: String) {
        entries[id] = nil
    }
}
