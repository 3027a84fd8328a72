/// Gathers telemetry messages into batches bounded by rows and by time.
///
/// A batch closes when the next message would take it past `maxRows` (that message
/// starts the next batch), or when `maxDelay` has passed since its first message. A
/// single message larger than `maxRows` makes a batch of its own.
public struct BatchAssembler: Sendable {
    public let maxRows: Int
    public let maxDelay: Duration

    public init(maxRows: Int, maxDelay: Duration) {
        self.maxRows = maxRows
        self.maxDelay = maxDelay
    }

    private var current = IngestBatch()
    private var deadline: ContinuousClock.Instant?

    /// When the open batch must be closed; nil while it is empty.
    public var closeDeadline: ContinuousClock.Instant? { deadline }

    /// Adds a message; returns the batches it closed (none, one, or two when a message
    /// alone fills a batch after closing the previous one).
    public mutating func add(_ message: ReceivedBatch, now: ContinuousClock.Instant) -> [IngestBatch] {
        var closed: [IngestBatch] = []
        if !current.isEmpty && current.rows + message.rows > maxRows {
            closed.append(current)
            current = IngestBatch()
        }
        if current.isEmpty { deadline = now + maxDelay }
        current.append(message)
        if current.rows >= maxRows {
            closed.append(current)
            current = IngestBatch()
            deadline = nil
        }
        return closed
    }

    /// Closes the open batch when its deadline has passed (or unconditionally with `force`).
    public mutating func close(now: ContinuousClock.Instant, force: Bool = false) -> IngestBatch? {
        guard !current.isEmpty, force || (deadline.map { now >= $0 } ?? false) else { return nil }
        defer {
            current = IngestBatch()
            deadline = nil
        }
        return current
    }
}
