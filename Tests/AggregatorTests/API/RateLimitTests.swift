import Testing
@testable import OutpostAggregator

@Suite("Token bucket and rate limiter (pure)")
struct RateLimitTests {
    @Test("a bucket allows its capacity at once, then refuses with the time until the next token")
    func burstThenRefuse() {
        var bucket = TokenBucket(policy: .init(capacity: 3, refillPerSecond: 0.5), now: 100)
        #expect(bucket.take(now: 100) == .allowed)
        #expect(bucket.take(now: 100) == .allowed)
        #expect(bucket.take(now: 100) == .allowed)
        #expect(bucket.take(now: 100) == .limited(retryAfter: 2))
        #expect(bucket.take(now: 101) == .limited(retryAfter: 1))
        #expect(bucket.take(now: 102) == .allowed)
        #expect(bucket.take(now: 102) == .limited(retryAfter: 2))
    }

    @Test("refill never exceeds capacity and a clock going backwards grants nothing")
    func refillBounds() {
        var bucket = TokenBucket(policy: .perWindow(5, seconds: 60), now: 0)
        for _ in 0..<5 { #expect(bucket.take(now: 0) == .allowed) }
        #expect(bucket.take(now: -1000) == .limited(retryAfter: 12))
        #expect(bucket.isIdle(now: 10_000))
        for _ in 0..<5 { #expect(bucket.take(now: 10_000) == .allowed) }
        #expect(bucket.take(now: 10_000) != .allowed)
    }

    @Test("the limiter keeps keys apart and its memory bounded")
    func limiterKeysAndEviction() async {
        let clock = ManualClock()
        let limiter = RateLimiter(policy: .init(capacity: 1, refillPerSecond: 1), maxKeys: 100, clock: { clock.now })
        #expect(await limiter.take("a") == .allowed)
        #expect(await limiter.take("a") == .limited(retryAfter: 1))
        #expect(await limiter.take("b") == .allowed)
        for index in 0..<1000 { _ = await limiter.take("flood-\(index)") }
        #expect(await limiter.keyCount <= 100)
        clock.now = 10
        #expect(await limiter.take("a") == .allowed)
    }
}

final class ManualClock: @unchecked Sendable {
    var now: Double = 0
}
