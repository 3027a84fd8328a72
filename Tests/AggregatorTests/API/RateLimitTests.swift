import Foundation
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

@Suite("API timestamps (pure)")
struct APITimestampTests {
    @Test("RFC 3339 with milliseconds in UTC, also before 1970 and at day edges")
    func formatting() {
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: 1_767_225_600)) == "2026-01-01T00:00:00.000Z")
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: 1_767_225_599.9996)) == "2025-12-31T23:59:59.999Z")
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: 951_782_400.123)) == "2000-02-29T00:00:00.123Z")
        for seconds in stride(from: -1e9, through: 4e9, by: 7_777_777.321) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.parse(APIJSON.timestamp(date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
        }
    }
}
