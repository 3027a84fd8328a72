/// What one device's buffer file says once everything has caught up (DESIGN.md, the
/// exactly-once promise; the issue 9 contract, section 3).
public struct BufferFacts: Sendable, Equatable {
    public var device: String
    /// The buffer's random id, as the signed bit pattern PostgreSQL's `readings.buffer` holds.
    public var buffer: Int64
    /// The highest seq the buffer ever handed out (`sqlite_sequence`): the device captured seqs 1...lastSeq.
    public var lastSeq: Int64
    /// Rows still in `readings`: captured, not yet acknowledged.
    public var pending: Int64
    /// Rows the buffer dropped when full (`meta.dropped`).
    public var dropped: Int64

    public init(device: String, buffer: Int64, lastSeq: Int64, pending: Int64, dropped: Int64) {
        self.device = device
        self.buffer = buffer
        self.lastSeq = lastSeq
        self.pending = pending
        self.dropped = dropped
    }
}

/// A device's buffer as the checker sees it: read, or not readable (which fails the device).
public enum BufferObservation: Sendable, Equatable {
    case read(BufferFacts)
    case unreadable(device: String, reason: String)

    public var device: String {
        switch self {
        case .read(let facts): facts.device
        case .unreadable(let device, _): device
        }
    }
}
