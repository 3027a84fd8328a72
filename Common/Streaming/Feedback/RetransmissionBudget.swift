/// A token bucket bounding NACK retransmissions, so a flood of NACKs (from a broken or
/// hostile receiver) cannot multiply the stream's bandwidth.
public struct RetransmissionBudget: Sendable {
    /// Packets per second. Defaults to 250 (about 3 Mbit/s of 1,200-byte packets).
    public let rate: Int
    /// The largest burst. Defaults to 100 packets.
    public let burst: Int
    private var tokens: Double
    private var refilledAt: UInt64?

    public init(rate: Int = 250, burst: Int = 100) {
        self.rate = rate
        self.burst = burst
        tokens = Double(burst)
    }

    /// Takes one packet's worth at monotonic time `now` (ns); false when the budget is spent.
    public mutating func take(now: UInt64) -> Bool {
        if let refilledAt, now > refilledAt {
            tokens = min(Double(burst), tokens + Double(now - refilledAt) / 1e9 * Double(rate))
        }
        refilledAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
