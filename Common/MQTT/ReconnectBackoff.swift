/// Exponential backoff with jitter, as a value type the client steps through.
///
/// The delay for attempt `n` is drawn uniformly from `[cap/2, cap]`, where
/// `cap = min(maximum, initial * 2^n)`. Half the delay is fixed so reconnects never
/// become a tight loop; the other half is random so a fleet that lost its broker at
/// the same moment does not return at the same moment.
public struct ReconnectBackoff: Sendable, Equatable {
    /// First cap, in seconds. Defaults to 0.5 s.
    public var initial: Double
    /// Largest cap, in seconds. Defaults to 30 s.
    public var maximum: Double
    public private(set) var attempt: Int = 0

    public init(initial: Double = 0.5, maximum: Double = 30) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; advances the attempt counter.
    public mutating func nextDelay<R: RandomNumberGenerator>(using generator: inout R) -> Double {
        let cap = min(maximum, initial * Double(1 << min(attempt, 30)))
        attempt += 1
        return Double.random(in: (cap / 2)...cap, using: &generator)
    }

    public mutating func nextDelay() -> Double {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// Call after a successful connection.
    public mutating func reset() { attempt = 0 }
}
