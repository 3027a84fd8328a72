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

    public init(device: DeviceID, buffer: BufferID, ranges: [SeqRange]) {
        self.v = Self.schemaVersion
        self.device = device
        self.buffer = buffer
        self.ranges = ranges
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
    }
}
