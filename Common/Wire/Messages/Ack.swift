/// Which readings of one buffer are committed in PostgreSQL, on `outpost/v1/{device}/ack`.
///
/// The aggregator publishes it only after the commit; the agent deletes exactly the
/// named readings. Ranges may arrive in any order and overlap earlier acks.
public struct Ack: WireMessage {
    public static let schemaVersion = 1
    public var v: Int
    public var device: DeviceID
    public var buffer: BufferID
    public var ranges: [SeqRange]
    /// How loaded the centre's ingest was when it published this ack, 0 (idle) to 1 (its queue
    /// full or its writes failing); nil: no signal (a centre from before the field). Optional
    /// and omitted when nil, so an ack without it is byte for byte what older centres send.
    public var pressure: Double?

    public init(device: DeviceID, buffer: BufferID, ranges: [SeqRange], pressure: Double? = nil) {
        self.v = Self.schemaVersion
        self.device = device
        self.buffer = buffer
        self.ranges = ranges
        self.pressure = pressure
    }

    public var deviceField: DeviceID? { device }

    public var readingCount: Int64 { ranges.reduce(0) { $0 + $1.count } }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard !ranges.isEmpty else { throw WireError(.invalidRange, "an ack names at least one range") }
        guard ranges.count <= limits.maxAckRanges else {
            throw WireError(.tooManyRanges, "\(ranges.count) ranges exceed the cap of \(limits.maxAckRanges)")
        }
        for range in ranges where range.first < 1 || range.last < range.first {
            throw WireError(.invalidRange, "range [\(range.first), \(range.last)] is empty or below 1")
        }
        if let pressure, !(0...1).contains(pressure) {
            throw WireError(.invalidPressure, "pressure \(pressure) is outside 0...1")
        }
    }
}
