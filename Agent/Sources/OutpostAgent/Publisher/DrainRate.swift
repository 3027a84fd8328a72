/// A token bucket over readings: at most `readingsPerSecond` on average, with bursts of
/// up to `burst`. ``DrainController`` moves the rate. Pure value type; the caller passes
/// monotonic milliseconds.
public struct DrainRate: Sendable, Equatable {
    public private(set) var readingsPerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var lastMs: Int64?

    public init(readingsPerSecond: Double, burst: Double) {
        precondition(readingsPerSecond > 0 && burst >= 1)
        self.readingsPerSecond = readingsPerSecond
        self.burst = burst
        self.tokens = burst
    }

    private mutating func refill(nowMs: Int64) {
        if let lastMs, nowMs > lastMs {
            tokens = min(burst, tokens + Double(nowMs - lastMs) * readingsPerSecond / 1000)
        }
        lastMs = max(lastMs ?? nowMs, nowMs)
    }

    /// From `nowMs` on, tokens accrue at `readingsPerSecond` (those accrued so far are kept).
    public mutating func setRate(_ readingsPerSecond: Double, nowMs: Int64) {
        precondition(readingsPerSecond > 0)
        refill(nowMs: nowMs)
        self.readingsPerSecond = readingsPerSecond
    }

    /// How many readings may go now (whole readings, at most `limit`).
    public mutating func allowance(nowMs: Int64, limit: Int) -> Int {
        refill(nowMs: nowMs)
        return max(0, min(limit, Int(tokens)))
    }

    /// Spends tokens for `count` readings that were sent.
    public mutating func spend(_ count: Int, nowMs: Int64) {
        refill(nowMs: nowMs)
        tokens -= Double(count)
    }

    /// Milliseconds until `count` readings are allowed (0 when they are now).
    public func delayMs(until count: Int) -> Int64 {
        let missing = Double(min(count, Int(burst))) - tokens
        guard missing > 0 else { return 0 }
        return Int64((missing * 1000 / readingsPerSecond).rounded(.up))
    }
}
