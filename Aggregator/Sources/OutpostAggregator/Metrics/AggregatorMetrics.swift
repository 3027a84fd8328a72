import Foundation
import OutpostWire
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
    /// Readings whose `(device, buffer, seq)` was stored already with another ts, metric or
    /// value: not stored again, acked (a buggy or hostile device; no Outpost agent does this).
    let readingsConflicting: Counter
    /// The stored rate over the last ``RateWindow/span``, for a quick look without PromQL.
    let readingsStoredPerSecond: Gauge
    let batchRows: ValueHistogram
    let commitSeconds: DurationHistogram
    let ackLagSeconds: DurationHistogram
    let acksPublished: Counter
    let writeFailures: Counter
    let conflictFallbacks: Counter
    let queueRows: Gauge
    /// ``IngestPressure``: the load every ack carries.
    let ingestPressure: Gauge
    let devicesOnline: Gauge
    let devicesWentOffline: Counter
    let stateFlushFailures: Counter
    let statesCoalesced: Counter
    let stateBatchMessages: ValueHistogram
    let shedMessages: Counter
    let shedReadings: Counter
    /// Writes past their deadline (``WriteDeadline``), and the ingest stall `/health` reports.
    let writeDeadlines: Counter
    let stalledSeconds: Gauge
    private let stalled = Atomic<Bool>(false)
    /// Read-only API queries by target, and the read replica's staleness (`postgres.read_replica`).
    let replicaReads: Counter
    let primaryReads: Counter
    let replicaStalenessSeconds: Gauge
    private let rateWindow = Mutex(RateWindow())
    /// Write paths (`readings`, `presence`, `commands`) whose last write failed transiently.
    private let failingPaths = Mutex<Set<String>>([])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        readingsStored = registry.makeCounter(
            descriptor: .outpost("outpost_ingest_readings_stored_total", "Readings inserted into PostgreSQL (re-deliveries excluded)."))
        readingsDuplicate = registry.makeCounter(
            descriptor: .outpost("outpost_ingest_readings_duplicate_total", "Re-delivered readings that were already stored."))
        readingsConflicting = registry.makeCounter(descriptor: .outpost(
            "outpost_ingest_readings_conflicting_total",
            "Readings not stored because their (device, buffer, seq) was stored already with another ts, metric or value (acked)."))
        readingsStoredPerSecond = registry.makeGauge(
            descriptor: .outpost("outpost_ingest_readings_stored_per_second", "Readings stored per second over the last 10 seconds."))
        batchRows = registry.makeValueHistogram(
            descriptor: .outpost("outpost_ingest_batch_rows", "Readings per database round trip."),
            buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000])
        commitSeconds = registry.makeDurationHistogram(
            descriptor: .outpost("outpost_ingest_commit_seconds", "Time of one batch's insert-and-commit round trip."),
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
        ackLagSeconds = registry.makeDurationHistogram(
            descriptor: .outpost("outpost_ingest_ack_lag_seconds", "From taking a telemetry message off the broker to publishing its ack."),
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(120)])
        acksPublished = registry.makeCounter(descriptor: .outpost("outpost_ingest_acks_published_total", "Ack messages published."))
        writeFailures = registry.makeCounter(
            descriptor: .outpost("outpost_ingest_write_failures_total", "Batch writes that failed and were retried."))
        conflictFallbacks = registry.makeCounter(descriptor: .outpost(
            "outpost_ingest_conflict_retries_total",
            "Batches that held an already stored reading above its buffer's high-water mark and were written again looking up every reading."))
        queueRows = registry.makeGauge(descriptor: .outpost("outpost_ingest_queue_rows", "Decoded readings waiting for a batch."))
        ingestPressure = registry.makeGauge(descriptor: .outpost(
            "outpost_ingest_pressure", "Ingest load sent in every ack, 0 to 1: the ingest queue's or the router's fill, 1 while writes are retried."))
        devicesOnline = registry.makeGauge(descriptor: .outpost("outpost_devices_online", "Devices whose status is online."))
        devicesWentOffline = registry.makeCounter(
            descriptor: .outpost("outpost_devices_silence_offline_total", "Devices marked offline because they fell silent."))
        stateFlushFailures = registry.makeCounter(
            descriptor: .outpost("outpost_devices_flush_failures_total", "Presence and event flushes that failed and were retried."))
        statesCoalesced = registry.makeCounter(descriptor: .outpost(
            "outpost_devices_states_coalesced_total",
            "State messages dropped unwritten because a newer state of their device was waiting (its status change is not recorded)."))
        stateBatchMessages = registry.makeValueHistogram(
            descriptor: .outpost("outpost_devices_state_batch_messages", "State messages written per statement."),
            buckets: [1, 5, 10, 25, 50, 100, 250, 500])
        shedMessages = registry.makeCounter(descriptor: .outpost(
            "outpost_ingest_shed_total",
            "Telemetry messages shed (not queued, not acked; re-sent by the device) because their device held its share of the ingest queue."))
        shedReadings = registry.makeCounter(
            descriptor: .outpost("outpost_ingest_shed_readings_total", "Readings in shed telemetry messages."))
        writeDeadlines = registry.makeCounter(descriptor: .outpost(
            "outpost_ingest_write_deadlines_total",
            "Batch writes that passed ingest.write_deadline_ms; their connection was closed and the batch retried."))
        stalledSeconds = registry.makeGauge(descriptor: .outpost(
            "outpost_ingest_stalled_seconds", "Seconds since the last commit while readings wait to be written; 0 when none wait."))
        let reads = MetricNameDescriptor.outpost(
            "outpost_api_reads_total", "Read-only API queries (readings, buckets, latest, export) by where they went: replica or primary.")
        replicaReads = registry.makeCounter(descriptor: reads, labels: [("target", "replica")])
        primaryReads = registry.makeCounter(descriptor: reads, labels: [("target", "primary")])
        replicaStalenessSeconds = registry.makeGauge(descriptor: .outpost(
            "outpost_postgres_replica_staleness_seconds",
            "At most how old the read replica's data is (postgres.read_replica); -1 when unknown or none is configured."))
        replicaStalenessSeconds.set(-1.0)
        for path in Self.writePaths { writePath(path, failing: false) }
        recordBuildInfo()
    }

    /// The batched write paths `/health` watches.
    static let writePaths = ["readings", "presence", "commands"]

    /// Counts a refused message (and its readings, for telemetry) under its reason.
    func rejected(kind: String, reason: String, readings: Int = 0) {
        registry.makeCounter(descriptor: .outpost("outpost_ingest_rejected_total", "Messages refused, by kind and reason."),
                             labels: [("kind", kind), ("reason", reason)])
            .increment()
        if readings > 0 {
            registry.makeCounter(
                descriptor: .outpost("outpost_ingest_rejected_readings_total", "Readings in refused telemetry messages, by reason."),
                labels: [("reason", reason)])
                .increment(by: Int64(readings))
        }
    }

    /// Counts a telemetry message shed because its device held its share of the ingest queue (``DeviceShare``).
    func shed(readings: Int) {
        shedMessages.increment()
        shedReadings.increment(by: Int64(readings))
    }

    /// Counts a message PostgreSQL refused for its data and that went to `rejected_messages`.
    func deadLettered(kind: String, sqlstate: String) {
        registry.makeCounter(
            descriptor: .outpost("outpost_ingest_dead_lettered_total", "Messages PostgreSQL refused for their data, kept in rejected_messages."),
            labels: [("kind", kind), ("sqlstate", sqlstate)])
            .increment()
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
        registry.makeGauge(descriptor: .outpost("outpost_write_path_failing", "1 while a batched write path retries a transient failure."),
                           labels: [("path", path)])
            .set(failing ? 1.0 : 0.0)
    }

    /// Publishes the ingest stall: `seconds` since the last commit while readings wait, and
    /// whether that is past `ingest.stall_seconds` (then `/health` reports `ingest_stalled`).
    func ingestStall(seconds: Double, stalled isStalled: Bool) {
        stalledSeconds.set(seconds)
        stalled.store(isStalled, ordering: .relaxed)
    }

    /// Counts a read-only API query by where it went (`outpost_api_reads_total{target}`).
    func read(onReplica: Bool) {
        (onReplica ? replicaReads : primaryReads).increment()
    }

    /// The read replica's staleness bound (`outpost_postgres_replica_staleness_seconds`), -1 when unknown.
    func replicaStaleness(_ bound: Duration?) {
        replicaStalenessSeconds.set(bound.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? -1)
    }

    /// True while readings wait and nothing committed for `ingest.stall_seconds`.
    public var ingestStalled: Bool { stalled.load(ordering: .relaxed) }

    /// The write paths failing now, sorted.
    public var failingWritePaths: [String] { failingPaths.withLock { $0.sorted() } }

    /// Counts an admin API refusal or failure under its error code (`outpost_api_errors_total{code}`).
    func apiError(code: String) {
        registry.makeCounter(descriptor: .outpost("outpost_api_errors_total", "Admin API refusals and failures, by error code."),
                             labels: [("code", code)])
            .increment()
    }

    /// Counts a config endpoint request (`enroll`, `renew`, `ca`) under its outcome: `issued`,
    /// `served`, a refusal code, or `internal_error` (`outpost_identity_requests_total`).
    func identityRequest(operation: String, outcome: String) {
        registry.makeCounter(descriptor: .outpost("outpost_identity_requests_total", "Config endpoint requests, by operation and outcome."),
                             labels: [("operation", operation), ("outcome", outcome)])
            .increment()
    }

    /// Counts a command's move into `status`.
    func command(_ status: String, by count: Int = 1) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: .outpost("outpost_commands_total", "Device commands moved into a status."),
                             labels: [("status", status)])
            .increment(by: Int64(count))
    }

    /// Counts a live-view event: `started`, `reused`, `ended` (by `reason`), `refused` (a
    /// browser's Janus request that is not allowed), `failed` (a start that did not succeed).
    func live(_ event: String, reason: String = "") {
        registry.makeCounter(descriptor: .outpost("outpost_live_events_total", "Live-view events, by event and reason."),
                             labels: [("event", event), ("reason", reason)])
            .increment()
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

    /// Counts a media engine left running by a killed aggregator and ended at start.
    func orphanedEngineEnded() {
        recordingCounter("outpost_recorder_orphans_ended", "total", "Media engines left by a killed aggregator, ended by PID at start.", [])
            .increment()
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

    // MARK: Operations: HTTP, live-event subscribers, process, build, certificate expiry

    private static var httpRequests: MetricNameDescriptor {
        .outpost("outpost_http_requests_total", "HTTP requests, by route template, method and status class.")
    }
    private static var httpDuration: MetricNameDescriptor {
        .outpost("outpost_http_request_duration_seconds",
            "Time from a request's head to its response's head, by route template and status class.")
    }
    private static let httpBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]
    private static var certificateExpiry: MetricNameDescriptor {
        .outpost("outpost_certificate_expiry_timestamp_seconds", "When a certificate the centre uses expires (notAfter, Unix seconds).")
    }
    /// Work done before each scrape (reading files, counting subscribers), in the order added.
    private let probes = Mutex<[@Sendable () async -> Void]>([])
    /// The CPU seconds already counted into `process_cpu_seconds_total`.
    private let countedCPUSeconds = Mutex<Double>(0)

    /// Counts one HTTP request under its route template (`unmatched` when no route took it).
    func httpRequest(route: String, method: String, status: Int, duration: Duration) {
        let statusClass = "\(min(max(status / 100, 1), 5))xx"
        registry.makeCounter(descriptor: Self.httpRequests, labels: [("route", route), ("method", method), ("status_class", statusClass)])
            .increment()
        registry.makeDurationHistogram(descriptor: Self.httpDuration, labels: [("route", route), ("status_class", statusClass)],
                                       buckets: Self.httpBuckets)
            .record(duration)
    }

    /// Adds work to run before each scrape, e.g. setting a gauge from a count another part owns.
    func addProbe(_ probe: @escaping @Sendable () async -> Void) {
        probes.withLock { $0.append(probe) }
    }

    /// Runs the probes, samples the process and certificate files, and renders the exposition.
    public func scrape() async -> String {
        for probe in probes.withLock({ $0 }) { await probe() }
        if let sample = ProcessSample.current() { record(sample) }
        return render()
    }

    /// More than one broker: 1 while this process is connected to broker `name`, else 0
    /// (`outpost_broker_connected{broker}`), so an alert names the broker that is down.
    func brokerConnected(_ name: String, _ connected: Bool) {
        registry.makeGauge(descriptor: .outpost("outpost_broker_connected", "1 while this aggregator is connected to the broker."),
                           labels: [("broker", name)])
            .set(connected ? 1.0 : 0.0)
    }

    /// Live-event (SSE) streams open now.
    func eventSubscribers(_ count: Int) {
        registry.makeGauge(descriptor: .outpost("outpost_api_event_subscribers", "Live-event (SSE) streams open on the admin API."))
            .set(Double(count))
    }

    /// Exports `process_*` under Prometheus' standard names.
    func record(_ sample: ProcessSample) {
        registry.makeGauge(
            descriptor: .outpost("process_resident_memory_bytes", "Resident memory size in bytes.")).set(sample.residentBytes)
        registry.makeGauge(descriptor: .outpost("process_open_fds", "Number of open file descriptors.")).set(Double(sample.openDescriptors))
        registry.makeGauge(
            descriptor: .outpost("process_max_fds", "Maximum number of open file descriptors.")).set(Double(sample.maxDescriptors))
        registry.makeGauge(descriptor: .outpost("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds."))
            .set(sample.startTime)
        let delta = countedCPUSeconds.withLock { counted in
            let delta = max(0, sample.cpuSeconds - counted)
            counted += delta
            return delta
        }
        registry.makeCounter(
            descriptor: .outpost("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")).increment(by: delta)
    }

    /// Exports each watched certificate's `notAfter` and the CRL's `nextUpdate` as Unix seconds.
    func expiries(certificates: [String: Date], crlNextUpdate: Date?) {
        for (name, notAfter) in certificates {
            registry.makeGauge(descriptor: Self.certificateExpiry, labels: [("certificate", name)]).set(notAfter.timeIntervalSince1970)
        }
        if let crlNextUpdate {
            registry.makeGauge(
                descriptor: .outpost("outpost_crl_next_update_timestamp_seconds",
                    "When the fleet CRL must be replaced (nextUpdate, Unix seconds)."))
                .set(crlNextUpdate.timeIntervalSince1970)
        }
    }

    /// The fleet as PostgreSQL has it (the same on every aggregator): `outpost_devices_online`,
    /// `outpost_devices{kind,status}`, and the buffer depth and drops devices last reported.
    func fleet(_ groups: [FleetGroup]) {
        devicesOnline.set(Double(groups.filter { $0.status == "online" }.reduce(0) { $0 + $1.devices }))
        let statuses = ["online", "offline", "unknown", "revoked"]
        for kind in Set(groups.map(\.kind)).union(["meter", "camera"]) {
            let ofKind = groups.filter { $0.kind == kind }
            for status in statuses {
                registry.makeGauge(
                    descriptor: .outpost("outpost_devices", "Devices by kind and status (online, offline, unknown, revoked)."),
                    labels: [("kind", kind), ("status", status)])
                    .set(Double(ofKind.filter { $0.status == status }.reduce(0) { $0 + $1.devices }))
            }
            registry.makeGauge(
                descriptor: .outpost("outpost_devices_buffer_depth",
                    "Readings waiting in device buffers, as the devices last reported, summed."),
                labels: [("kind", kind)])
                .set(Double(ofKind.reduce(0) { $0 + $1.bufferDepth }))
            registry.makeGauge(
                descriptor: .outpost("outpost_devices_buffer_dropped",
                    "Readings device buffers dropped when full, as the devices last reported, summed."),
                labels: [("kind", kind)])
                .set(Double(ofKind.reduce(0) { $0 + $1.dropped }))
        }
    }

    /// Free space of the file system holding a directory the centre writes (`state`).
    func disk(_ directory: String, _ space: DiskSpace) {
        registry.makeGauge(
            descriptor: .outpost("outpost_disk_free_bytes", "Free bytes of the file system holding a directory the centre writes."),
            labels: [("directory", directory)])
            .set(space.freeBytes)
        registry.makeGauge(
            descriptor: .outpost("outpost_disk_free_ratio", "Free fraction of the file system holding a directory the centre writes."),
            labels: [("directory", directory)])
            .set(space.freeRatio)
    }

    /// A camera's stream as its last stored `stream_stats` event says: bitrate, loss (when the
    /// receiver reported any) and when. Series per camera device; an aggregator sees the
    /// events of its share of the broker subscription, so the rules take `max by (device)`.
    func cameraStream(_ event: DeviceEvent) {
        let device = [("device", event.device.rawValue)]
        if let bitrate = event.data["bitrateKbps"]?.doubleValue {
            registry.makeGauge(
                descriptor: .outpost("outpost_camera_bitrate_kbps", "A camera stream's bitrate in its last stream_stats event."),
                labels: device)
                .set(bitrate)
        }
        if let loss = event.data["lossFraction"]?.doubleValue {
            registry.makeGauge(
                descriptor: .outpost("outpost_camera_loss_ratio",
                    "The fraction of a camera stream's packets its receiver last reported lost."),
                labels: device)
                .set(loss)
        }
        registry.makeGauge(
            descriptor: .outpost("outpost_camera_stats_timestamp_seconds",
                "When a camera's last stream_stats event was taken (Unix seconds)."),
            labels: device)
            .set(Double(event.ts) / 1_000)
    }

    /// `outpost_build_info{version,commit}`, always 1.
    private func recordBuildInfo() {
        registry.makeGauge(descriptor: .outpost("outpost_build_info", "The running build: version and commit labels, value 1."),
                           labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)])
            .set(1.0)
    }
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

extension MetricNameDescriptor {
    /// An Outpost metric: `name` is the full name, unit suffix included, as `docs/aggregator.md` lists it.
    static func outpost(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
