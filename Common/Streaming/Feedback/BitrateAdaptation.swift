/// Turns REMB estimates into bitrate changes a source can apply.
///
/// Restarting an encoder costs a keyframe and a short gap, so a change is applied only
/// when the clamped target differs from the current bitrate by at least ``minimumChange``
/// and ``minimumInterval`` has passed since the previous change.
public struct BitrateAdaptation: Sendable {
    /// Bits per second the source runs at now.
    public private(set) var current: UInt64
    /// The latest clamped target, whether or not applied yet.
    public private(set) var target: UInt64
    public let minimum: UInt64
    public let maximum: UInt64
    /// Defaults to 0.2 (20%).
    public let minimumChange: Double
    /// Defaults to 10 s.
    public let minimumInterval: Duration
    private var lastChangeAt: UInt64?

    public init(initial: UInt64, minimum: UInt64, maximum: UInt64, minimumChange: Double = 0.2, minimumInterval: Duration = .seconds(10)) {
        precondition(minimum <= maximum)
        self.current = min(max(initial, minimum), maximum)
        self.target = current
        self.minimum = minimum
        self.maximum = maximum
        self.minimumChange = minimumChange
        self.minimumInterval = minimumInterval
    }

    /// Records an estimate; returns the bitrate to apply now, if a change is due.
    public mutating func estimate(_ bitsPerSecond: UInt64, now: UInt64) -> UInt64? {
        target = min(max(bitsPerSecond, minimum), maximum)
        return due(now: now)
    }

    /// A change that was held back by the interval and is due now, if any.
    public mutating func due(now: UInt64) -> UInt64? {
        guard target != current else { return nil }
        let change = abs(Double(target) - Double(current)) / Double(max(current, 1))
        guard change >= minimumChange else { return nil }
        let interval = UInt64(minimumInterval.components.seconds) * 1_000_000_000 + UInt64(minimumInterval.components.attoseconds / 1_000_000_000)
        if let last = lastChangeAt, now &- last < interval { return nil }
        lastChangeAt = now
        current = target
        return target
    }
}
