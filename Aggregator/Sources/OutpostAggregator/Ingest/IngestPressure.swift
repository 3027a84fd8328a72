/// How loaded ingest is, 0 (idle) to 1 (saturated): every ack's `pressure` and the
/// `outpost_ingest_pressure` gauge.
///
/// The larger of two fills. The ingest queue's: readings waiting for a batch over
/// `ingest.queue_max_rows`; it rises as soon as the writers fall behind arrivals, a round
/// trip before the devices whose readings wait see their acks slow down, and at 1 the router
/// stops taking messages off the broker. The router's: when decoding is the bound, the queue
/// stays short and the backlog waits in the broker, where the aggregator cannot count it; the
/// router's busy share of the last second (``DecodeShare``) shows it instead, from 0 at
/// `routerSaturation` (80%, where ``DecodeShare`` starts capping devices) to 1 when always busy.
/// While the write path retries a failure it is 1: nothing commits until it recovers. Rounded
/// up to hundredths, so an ack grows by at most 16 bytes and a queue holding anything never reads 0.
public struct IngestPressure: Sendable, Equatable {
    /// `ingest.queue_max_rows`.
    public let queueLimit: Int
    /// The router's busy share at which its fill starts from 0.
    public let routerSaturation = 0.8

    public init(queueLimit: Int) {
        precondition(queueLimit > 0)
        self.queueLimit = queueLimit
    }

    /// The pressure with `queuedRows` readings waiting (more than the limit is possible:
    /// one message heavier than it is admitted into an empty queue) and the busiest router's
    /// share of the last second.
    public func pressure(queuedRows: Int, writeFailing: Bool, routerBusy: Double = 0) -> Double {
        if writeFailing { return 1 }
        // In integers, so an exact fill (7,400 of 20,000) is exactly its hundredths (0.37).
        let rows = min(max(0, queuedRows), queueLimit)
        let queue = (rows * 100 + queueLimit - 1) / queueLimit
        let busy = min(1, max(0, (routerBusy - routerSaturation) / (1 - routerSaturation)))
        // Less a hair, so floating-point noise above a whole hundredth (0.5000000000000002) does not round up.
        let router = Int((busy * 100 - 1e-9).rounded(.up))
        return Double(max(queue, router)) / 100
    }
}
