/// How loaded ingest is, 0 (idle) to 1 (saturated): every ack's `pressure` and the
/// `outpost_ingest_pressure` gauge.
///
/// The fill of the ingest queue: readings waiting for a batch over `ingest.queue_max_rows`.
/// It rises as soon as the writers fall behind arrivals, a round trip before the devices
/// whose readings wait see their acks slow down, and at 1 the router stops taking messages
/// off the broker. While the write path retries a failure it is 1: nothing commits until it
/// recovers. Rounded up to hundredths, so an ack grows by at most 16 bytes and a queue
/// holding anything never reads 0.
public struct IngestPressure: Sendable, Equatable {
    /// `ingest.queue_max_rows`.
    public let queueLimit: Int

    public init(queueLimit: Int) {
        precondition(queueLimit > 0)
        self.queueLimit = queueLimit
    }

    /// The pressure with `queuedRows` readings waiting (more than the limit is possible:
    /// one message heavier than it is admitted into an empty queue).
    public func pressure(queuedRows: Int, writeFailing: Bool) -> Double {
        if writeFailing { return 1 }
        // In integers, so an exact fill (7,400 of 20,000) is exactly its hundredths (0.37).
        let rows = min(max(0, queuedRows), queueLimit)
        let hundredths = (rows * 100 + queueLimit - 1) / queueLimit
        return Double(hundredths) / 100
    }
}
