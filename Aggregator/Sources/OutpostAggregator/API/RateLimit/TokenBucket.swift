/// A token bucket: up to `capacity` requests at once, refilled at `refillPerSecond`.
///
/// A value type with an explicit clock (`now`, in seconds), so the policy is tested
/// without time passing. ``RateLimiter`` keeps one per key.
public struct TokenBucket: Sendable, Equatable {
    public struct Policy: Sendable, Equatable, Codable {
        /// Most requests allowed in a burst.
        public var capacity: Double
        /// Sustained requests per second.
        public var refillPerSecond: Double

        public init(capacity: Double, refillPerSecond: Double) {
            precondition(capacity >= 1 && refillPerSecond > 0, "a rate limit needs capacity >= 1 and a positive refill")
            self.capacity = capacity
            self.refillPerSecond = refillPerSecond
        }

        /// `count` requests per `seconds`, all of them available at once.
        public static func perWindow(_ count: Int, seconds: Double) -> Policy {
            Policy(capacity: Double(count), refillPerSecond: Double(count) / seconds)
        }
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused; the caller may retry after this many whole seconds (at least 1).
        case limited(retryAfter: Int)
    }

    public let policy: Policy
    public private(set) var tokens: Double
    public private(set) var updatedAt: Double

    public init(policy: Policy, now: Double) {
        self.policy = policy
        self.tokens = policy.capacity
        self.updatedAt = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: Double) -> Decision {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        let wait = (1 - tokens) / policy.refillPerSecond
        return .limited(retryAfter: max(1, Int(wait.rounded(.up))))
    }

    /// True when the bucket is full again, so a limiter may forget it.
    public func isIdle(now: Double) -> Bool {
        tokens + max(0, now - updatedAt) * policy.refillPerSecond >= policy.capacity
    }

    private mutating func refill(now: Double) {
        let elapsed = max(0, now - updatedAt)
        tokens = min(policy.capacity, tokens + elapsed * policy.refillPerSecond)
        updatedAt = max(updatedAt, now)
    }
}
