import Foundation

/// Token buckets by key (an IP, a username, a principal), with bounded memory.
///
/// Budgets are per aggregator process: with N aggregators behind one address a client
/// gets at most N times the budget, which still bounds brute force and runaway scripts.
/// When more than `maxKeys` buckets exist, the idle ones (full again) are forgotten;
/// if all are busy, the oldest half goes, so a flood of new keys cannot grow memory.
public actor RateLimiter {
    public let policy: TokenBucket.Policy
    public let maxKeys: Int
    private var buckets: [String: TokenBucket] = [:]
    private let clock: @Sendable () -> Double

    public init(policy: TokenBucket.Policy, maxKeys: Int = 100_000,
                clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.policy = policy
        self.maxKeys = maxKeys
        self.clock = clock
    }

    public func take(_ key: String) -> TokenBucket.Decision {
        let now = clock()
        var bucket = buckets[key] ?? TokenBucket(policy: policy, now: now)
        let decision = bucket.take(now: now)
        buckets[key] = bucket
        if buckets.count > maxKeys { evict(now: now) }
        return decision
    }

    public var keyCount: Int { buckets.count }

    private func evict(now: Double) {
        buckets = buckets.filter { !$0.value.isIdle(now: now) }
        if buckets.count > maxKeys {
            let keep = buckets.sorted { $0.value.updatedAt > $1.value.updatedAt }.prefix(maxKeys / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

extension TokenBucket.Decision {
    /// Throws 429 `rate_limited` with `Retry-After` when limited.
    func enforce(_ what: String) throws(APIError) {
        if case .limited(let seconds) = self {
            throw APIError(.tooManyRequests, .rateLimited, "too many \(what); retry after \(seconds) s",
                           headers: [.retryAfter: "\(seconds)"])
        }
    }
}
