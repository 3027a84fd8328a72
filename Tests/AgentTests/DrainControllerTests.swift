@testable import OutpostAgent
import Testing

/// The adaptive drain rate (AIMD on ack latency), without a clock or a network.
@Suite("Drain controller (pure)")
struct DrainControllerTests {
    func controller(maximum: Double = 100_000) -> DrainController {
        DrainController(initial: 5_000, minimum: 500, maximum: maximum, targetLatencyMs: 1_000, increaseStep: 1_000)
    }

    @Test("acks within the target raise the rate by one step each while the rate holds the publisher back, up to the maximum")
    func additiveIncrease() {
        var drain = controller(maximum: 8_000)
        #expect(drain.readingsPerSecond == 5_000)
        #expect(drain.acked(latencyMs: 40, nowMs: 0, rateLimited: true) == 6_000)
        #expect(drain.acked(latencyMs: 1_000, nowMs: 10, rateLimited: true) == 7_000, "the target itself is on time")
        #expect(drain.acked(latencyMs: 40, nowMs: 20, rateLimited: false) == 7_000, "an unused rate is not raised")
        #expect(drain.acked(latencyMs: 40, nowMs: 30, rateLimited: true) == 8_000)
        #expect(drain.acked(latencyMs: 40, nowMs: 40, rateLimited: true) == 8_000, "never above the maximum")
    }

    @Test("a slow ack halves the rate once per observed latency, never below the minimum")
    func multiplicativeDecrease() {
        var drain = controller()
        #expect(drain.acked(latencyMs: 1_500, nowMs: 10_000, rateLimited: true) == 2_500)
        // Acks of batches sent at the old rate arrive within that 1.5 s: no second halving.
        #expect(drain.acked(latencyMs: 1_800, nowMs: 10_400, rateLimited: true) == 2_500)
        #expect(drain.acked(latencyMs: 1_800, nowMs: 11_499, rateLimited: true) == 2_500)
        #expect(drain.acked(latencyMs: 1_800, nowMs: 11_500, rateLimited: true) == 1_250)
        #expect(drain.acked(latencyMs: 5_000, nowMs: 20_000, rateLimited: true) == 625)
        #expect(drain.acked(latencyMs: 5_000, nowMs: 30_000, rateLimited: true) == 500, "floor")
        #expect(drain.acked(latencyMs: 20, nowMs: 30_001, rateLimited: true) == 1_500, "on-time acks raise it again")
    }

    @Test("the starting rate is clamped to the bounds; a token bucket follows the controller's rate from the moment it changes")
    func boundsAndBucket() {
        #expect(DrainController(initial: 5_000, minimum: 100, maximum: 2_000, targetLatencyMs: 500, increaseStep: 10).readingsPerSecond == 2_000)
        #expect(DrainController(initial: 10, minimum: 100, maximum: 2_000, targetLatencyMs: 500, increaseStep: 10).readingsPerSecond == 100)
        var bucket = DrainRate(readingsPerSecond: 1_000, burst: 500)
        bucket.spend(500, nowMs: 0)
        bucket.setRate(10_000, nowMs: 0)
        #expect(bucket.allowance(nowMs: 10, limit: 10_000) == 100, "10 ms at 10,000/s")
        bucket.setRate(1_000, nowMs: 10)
        #expect(bucket.allowance(nowMs: 20, limit: 10_000) == 110, "tokens accrued before the change are kept")
    }

    /// A centre that stores `capacity` readings/s in arrival order, acking each batch when it is
    /// stored (plus a 20 ms round trip); the agent sends 500-reading batches, at most 8 in flight,
    /// within the controller's rate. Returns (seconds to drain `backlog`, ack latencies in ms).
    func simulate(capacity: Double, backlog: Int, settings: PublisherSettings) -> (seconds: Double, latencies: [Int64]) {
        var drain = settings.drainController
        var bucket = DrainRate(readingsPerSecond: drain.readingsPerSecond, burst: max(500, drain.readingsPerSecond))
        var inflight: [(sentAt: Int64, doneAt: Int64)] = []
        var centreFreeAtMs = 0.0
        var sent = 0, acked = 0, limited = false
        var latencies: [Int64] = []
        var now: Int64 = 0
        while acked < backlog && now < 600_000 {
            while let first = inflight.first, first.doneAt <= now {
                inflight.removeFirst()
                acked += settings.batchSize
                latencies.append(first.doneAt - first.sentAt)
                bucket.setRate(drain.acked(latencyMs: first.doneAt - first.sentAt, nowMs: now, rateLimited: limited), nowMs: now)
                limited = false
            }
            while sent < backlog && inflight.count < settings.window {
                guard bucket.allowance(nowMs: now, limit: settings.batchSize) >= settings.batchSize else {
                    limited = true
                    break
                }
                bucket.spend(settings.batchSize, nowMs: now)
                sent += settings.batchSize
                centreFreeAtMs = max(centreFreeAtMs, Double(now)) + Double(settings.batchSize) * 1_000 / capacity
                inflight.append((now, Int64(centreFreeAtMs.rounded(.up)) + 20))
            }
            now += 1
        }
        return (Double(now) / 1_000, latencies)
    }

    @Test("model: an idle centre (200,000/s) takes a 100,000-reading backlog in under 5 s; the fixed 5,000/s bucket needed 20 s")
    func idleCentreModel() {
        let adaptive = simulate(capacity: 200_000, backlog: 100_000, settings: PublisherSettings())
        #expect(adaptive.seconds < 5, "\(adaptive.seconds) s")
        let fixed = simulate(capacity: 200_000, backlog: 100_000, settings: PublisherSettings(drainRate: 5_000))
        #expect(fixed.seconds >= 19, "\(fixed.seconds) s")
    }

    @Test("model: a busy centre (3,000/s left) keeps acks near the target instead of queueing the window behind it")
    func busyCentreModel() {
        let result = simulate(capacity: 3_000, backlog: 60_000, settings: PublisherSettings())
        let sorted = result.latencies.sorted()
        let p99 = sorted[sorted.count * 99 / 100]
        // 8 batches of 500 queued at 3,000/s would be 1.3 s; AIMD backs off well before that is the norm.
        #expect(p99 <= 2_000, "p99 \(p99) ms")
        #expect(result.seconds < 60_000.0 / 3_000 * 1.6, "within 60% of the centre's own rate: \(result.seconds) s")
    }
}
