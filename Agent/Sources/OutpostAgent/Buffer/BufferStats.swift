import OutpostWire

/// The buffer's figures for the device state and `outpost-agent status`.
public struct BufferStats: Sendable, Equatable, Codable {
    public var buffer: BufferID
    /// Readings on disk, not yet acknowledged.
    public var depth: Int
    /// Estimated bytes of those readings (see ``BufferCapacity``).
    public var bytes: Int
    /// Capture time of the oldest unacknowledged reading.
    public var oldestTs: Int64?
    /// Readings dropped to stay within the caps, since the buffer file was created.
    public var dropped: Int64
    /// The highest seq ever assigned (0 before the first reading).
    public var lastSeq: Int64

    public init(buffer: BufferID, depth: Int, bytes: Int, oldestTs: Int64?, dropped: Int64, lastSeq: Int64) {
        self.buffer = buffer
        self.depth = depth
        self.bytes = bytes
        self.oldestTs = oldestTs
        self.dropped = dropped
        self.lastSeq = lastSeq
    }
}
