import Foundation
import Prometheus
import Synchronization

/// Every metric the aggregator exports on `/metrics`, in one Prometheus registry per
/// process (tests build several aggregators in one process, each with its own).
/// Names are documented in `docs/aggregator.md`.
public final class AggregatorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Readings inserted (excluding re-deliveries). `rate()` of it is readings stored per second.
    let readingsStored: Counter
    /// Readings re-delivered and already stored: acked again, inserted nothing.
    let readingsDuplicate: Counter
    /// The stored rate over the last ``RateWindow/span``, for a quick look without PromQL.
    let readingsStoredPerSecond: Gauge
    let batchRows: ValueHistogram
    let commitSeconds: DurationHistogram
    let ackLagSeconds: DurationHistogram
    let acksPublished: Counter
    let writeFailures: Counter
    let conflictFallbacks: Counter
    let queueRows: Gauge
    let devicesOnline: Gauge
    let devicesWentOffline: Counter
    let stateFlushFailures: Counter
    let shedMessages: Counter
    let shedReadings: Counter
    private let rateWindow = Mutex(RateWindow())
    /// Write paths (`readings`, `presence`, `commands`) whose last write failed transiently.
    private let failingPaths = Mutex<Set<String>>([])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        readingsStored = registry.makeCounter(
            name: "outpost_ingest_readings_stored_total", help: "Readings inserted into PostgreSQL (re-deliveries excluded).")
        readingsDuplicate = registry.makeCounter(
            name: "outpost_ingest_readings_duplicate_total", help: "Re-delivered readings that were already stored.")
        readingsStoredPerSecond = registry.makeGauge(
            name: "outpost_ingest_readings_stored_per_second", help: "Readings stored per second over the last 10 seconds.")
        batchRows = registry.makeValueHistogram(
            name: "outpost_ingest_batch_rows", buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000],
            help: "Readings per database round trip.")
        commitSeconds = registry.makeDurationHistogram(
            name: "outpost_ingest_commit_seconds",
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
            help: "Time of one batch's insert-and-commit round trip.")
        ackLagSeconds = registry.makeDurationHistogram(
            name: "outpost_ingest_ack_lag_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(120)],
            help: "From taking a telemetry message off the broker to publishing its ack.")
        acksPublished = registry.makeCounter(name: "outpost_ingest_acks_published_total", help: "Ack messages published.")
        writeFailures = registry.makeCounter(
            name: "outpost_ingest_write_failures_total", help: "Batch writes that failed and were retried.")
        conflictFallbacks = registry.makeCounter(
            name: "outpost_ingest_conflict_retries_total",
            help: "Batches that held an already stored reading and were written again with ON CONFLICT DO NOTHING.")
        queueRows = registry.makeGauge(name: "outpost_ingest_queue_rows", help: "Decoded readings waiting for a batch.")
        devicesOnline = registry.makeGauge(name: "outpost_devices_online", help: "Devices whose status is online.")
        devicesWentOffline = registry.makeCounter(
            name: "outpost_devices_silence_offline_total", help: "Devices marked offline because they fell silent.")
        stateFlushFailures = registry.makeCounter(
            name: "outpost_devices_flush_failures_total", help: "Presence and event flushes that failed and were retried.")
        shedMessages = registry.makeCounter(
            name: "outpost_ingest_shed_total",
            help: "Telemetry messages shed (not queued, not acked) because their device held more than its fair share of a full queue.")
        shedReadings = registry.makeCounter(name: "outpost_ingest_shed_readings_total", help: "Readings in shed telemetry messages.")
        for path in Self.writePaths { writePath(path, failing: false) }
    }

    /// The batched write paths `/health` watches.
    static let writePaths = ["readings", "presence", "commands"]

    /// Counts a refused message (and its readings, for telemetry) under its reason.
    func rejected(kind: String, reason: String, readings: Int = 0) {
        registry.makeCounter(name: "outpost_ingest_rejected_total", labels: [("kind", kind), ("reason", reason)]).increment()
        if readings > 0 {
            registry.makeCounter(name: "outpost_ingest_rejected_readings_total", labels: [("reason", reason)])
                .increment(by: Int64(readings))
        }
    }

    /// Counts a telemetry message shed because its device held more than its fair share of a full queue.
    func shed(readings: Int) {
        shedMessages.increment()
        shedReadings.increment(by: Int64(readings))
    }

    /// Counts a message PostgreSQL refused for its data and that went to `rejected_messages`.
    func deadLettered(kind: String, sqlstate: String) {
        registry.makeCounter(name: "outpost_ingest_dead_lettered_total", labels: [("kind", kind), ("sqlstate", sqlstate)]).increment()
    }

    /// Marks a write path failing (a transient failure it is retrying) or recovered; `/health`
    /// is `degraded` while any is failing, and `outpost_write_path_failing{path}` is 1.
    func writePath(_ path: String, failing: Bool) {
        failingPaths.withLock { paths in
            if failing {
                _ = paths.insert(path)
            } else {
                _ = paths.remove(path)
            }
        }
        registry.makeGauge(name: "outpost_write_path_failing", labels: [("path", path)]).set(failing ? 1.0 : 0.0)
    }

    /// The write paths failing now, sorted.
    public var failingWritePaths: [String] { failingPaths.withLock { $0.sorted() } }

    /// Counts an admin API refusal or failure under its error code (`outpost_api_errors_total{code}`).
    func apiError(code: String) {
        registry.makeCounter(name: "outpost_api_errors_total", labels: [("code", code)]).increment()
    }

    /// Counts a config endpoint request (`enroll`, `renew`, `ca`) under its outcome: `issued`,
    /// `served`, a refusal code, or `internal_error` (`outpost_identity_requests_total`).
    func identityRequest(operation: String, outcome: String) {
        registry.makeCounter(name: "outpost_identity_requests_total", labels: [("operation", operation), ("outcome", outcome)])
            .increment()
    }

    /// Counts a command's move into `status`.
    func command(_ status: String, by count: Int = 1) {
        guard count > 0 else { return }
        registry.makeCounter(name: "outpost_commands_total", labels: [("status", status)]).increment(by: Int64(count))
    }

    /// Counts a live-view event: `started`, `reused`, `ended` (by `reason`), `refused` (a
    /// browser's Janus request that is not allowed), `failed` (a start that did not succeed).
    func live(_ event: String, reason: String = "") {
        registry.makeCounter(name: "outpost_live_events_total", labels: [("event", event), ("reason", reason)]).increment()
    }

    // MARK: Recordings (docs/recordings.md)

    private func recordingCounter(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help), labels: labels)
    }

    private func recordingGauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help))
    }

    /// Counts a deleted segment and its bytes under its reason: `age`, `device_quota`,
    /// `quota`, `floor`, `manual`, `orphan` (a file without a row, removed) or `partial`
    /// (a segment the engine left unplayable).
    func recordingDeleted(reason: String, bytes: Int64) {
        recordingCounter("outpost_recordings_deleted", "total", "Recording segments deleted, by reason.", [("reason", reason)]).increment()
        recordingCounter("outpost_recordings_deleted_bytes", "total", "Bytes of deleted recording segments, by reason.", [("reason", reason)])
            .increment(by: max(bytes, 0))
    }

    /// Counts a closed segment by outcome: `complete`, `unplayable`, `adopted`, `missing`.
    func recordingSegment(_ outcome: String) {
        recordingCounter("outpost_recordings_segments", "total", "Recording segments closed or found, by outcome.", [("outcome", outcome)])
            .increment()
    }

    /// Counts a restart of a camera's media engine after it exited by itself.
    func recorderRestarted() {
        recordingCounter("outpost_recorder_restarts", "total", "Media engine restarts after an unexpected exit.", []).increment()
    }

    /// Cameras being recorded by this aggregator now.
    func recordersRunning(_ count: Int) {
        recordingGauge("outpost_recorders", "running", "Cameras this aggregator records now.").set(Double(count))
    }

    /// What retention last saw: bytes of complete segments, the oldest one's start (0 when
    /// none), the filesystem's free bytes, the free bytes the floor asks for, and whether
    /// free space was under the floor (the alert).
    func recordingStorage(bytes: Int64, oldest: Date?, freeBytes: Int64, floorBytes: Int64, belowFloor: Bool) {
        recordingGauge("outpost_recordings", "bytes", "Bytes of complete recording segments.").set(Double(bytes))
        recordingGauge("outpost_recordings_oldest_segment", "timestamp_seconds", "Start of the oldest complete segment (Unix seconds).")
            .set(oldest?.timeIntervalSince1970 ?? 0)
        recordingGauge("outpost_recordings_free", "bytes", "Free bytes on the recordings filesystem.").set(Double(freeBytes))
        recordingGauge("outpost_recordings_floor", "bytes", "Free bytes the retention floor keeps.").set(Double(floorBytes))
        recordingGauge("outpost_recordings_below_floor", "", "1 while free space on the recordings filesystem is under the floor.")
            .set(belowFloor ? 1.0 : 0.0)
    }

    func stored(_ inserted: Int, duplicates: Int, now: ContinuousClock.Instant) {
        readingsStored.increment(by: Int64(inserted))
        readingsDuplicate.increment(by: Int64(duplicates))
        rateWindow.withLock { $0.add(inserted, at: now) }
    }

    /// Refreshes the per-second gauge; called once a second.
    func updateRate(now: ContinuousClock.Instant) {
        readingsStoredPerSecond.set(rateWindow.withLock { $0.perSecond(at: now) })
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}

/// Stored counts per second over a sliding window, in one-second buckets.
struct RateWindow: Sendable {
    static let span = 10
    private var buckets: [(second: Int64, count: Int)] = []

    /// A fixed origin so instants map to whole seconds.
    private static let origin = ContinuousClock.now

    private static func second(_ instant: ContinuousClock.Instant) -> Int64 {
        (instant - origin).components.seconds
    }

    mutating func add(_ count: Int, at now: ContinuousClock.Instant) {
        let second = Self.second(now)
        if let last = buckets.last, last.second == second {
            buckets[buckets.count - 1].count += count
        } else {
            buckets.append((second, count))
        }
        buckets.removeAll { $0.second <= second - Int64(Self.span) }
    }

    func perSecond(at now: ContinuousClock.Instant) -> Double {
        let second = Self.second(now)
        let total = buckets.filter { $0.second > second - Int64(Self.span) }.reduce(0) { $0 + $1.count }
        return Double(total) / Double(Self.span)
    }
}
