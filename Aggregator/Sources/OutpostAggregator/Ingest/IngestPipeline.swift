import Logging
import OutpostMQTT
import OutpostWire
import Synchronization

/// Decoded telemetry → batches → PostgreSQL → acks.
///
/// ```
/// submit() ─▶ queue (≤ queue_max_rows readings) ─▶ assembler (rows / time) ─▶ batches (≤ writers)
///                                                                               │
///                 acks published after the commit ◀── writer × N ◀──────────────┘
/// ```
///
/// `submit` waits while the queue is full; the caller is the broker consumer, so a slow
/// database stops it taking messages and the backlog stays with the broker. One device
/// never fills the queue: past its share (``DeviceShare``) its messages are shed. A transiently failed
/// write is retried (PostgreSQL restarting) with backoff, holding its batch; no ack goes
/// out for it until it commits. A message refused for its data is dead-lettered instead. Every
/// ack carries the pipeline's load (``IngestPressure``). Stopping: ``finish()``, then ``run()`` drains what was submitted.
public final class IngestPipeline: Sendable {
    let settings: IngestSettings
    let store: ReadingsStore
    let acks: any AckPublisher
    let metrics: AggregatorMetrics
    let logger: Logger
    let deadLetters: RejectedMessagesStore
    private let queue: BoundedQueue<ReceivedBatch>
    /// Rows each device has in `queue`, for ``DeviceShare``.
    private let queuedRows = Mutex([DeviceID: Int]())
    private let share: DeviceShare
    private let batches: BoundedQueue<IngestBatch>
    /// Readings in the pipeline and the last commit, for `/health`'s `ingest_stalled`.
    private let progress = Mutex(IngestStall())
    private let load: IngestPressure
    /// The readings write path is retrying a transient failure.
    private let writeFailing = Atomic<Bool>(false)
    /// Each broker's router: its busy share of its last second, and when that second ended.
    private let routerLoad = Mutex([Int: (share: Double, at: ContinuousClock.Instant)]())

    public init(settings: IngestSettings, store: ReadingsStore, acks: any AckPublisher, metrics: AggregatorMetrics, logger: Logger) {
        self.settings = settings
        self.store = store
        self.acks = acks
        self.metrics = metrics
        self.logger = logger
        deadLetters = RejectedMessagesStore(client: store.client, metrics: metrics, logger: logger)
        queue = BoundedQueue(limit: settings.queueMaxRows)
        share = DeviceShare(queueLimit: settings.queueMaxRows, deviceLimit: settings.deviceQueueMaxRows)
        batches = BoundedQueue(limit: settings.writers)
        load = IngestPressure(queueLimit: settings.queueMaxRows)
    }

    /// A router's busy share of the second that ended at `now` (``DecodeShare``).
    func routerBusy(_ share: Double, broker: Int, at now: ContinuousClock.Instant) {
        routerLoad.withLock { $0[broker] = (share, now) }
    }

    /// The load now, also set on `outpost_ingest_pressure`. A router silent for 2 s is idle.
    func pressure() -> Double {
        let now = ContinuousClock.now
        let busiest = routerLoad.withLock { load in load.values.filter { now - $0.at < .seconds(2) }.map(\.share).max() ?? 0 }
        let pressure = load.pressure(queuedRows: queue.weight, writeFailing: writeFailing.load(ordering: .relaxed), routerBusy: busiest)
        metrics.ingestPressure.set(pressure)
        return pressure
    }

    /// True when `device` already holds its whole share of the queue, so its next telemetry
    /// message would be shed: the router then sheds it before decoding.
    func isFull(_ device: DeviceID) -> Bool {
        let held = queuedRows.withLock { $0[device, default: 0] }
        return share.shedsUndecoded(held: held)
    }

    /// Queues a decoded message, waiting while the queue is full. False once finished.
    ///
    /// Fairness (``DeviceShare``): a message that would take its device past its share of
    /// the queue is shed instead: not queued, not acked, counted under
    /// `outpost_ingest_shed_total`; the device re-sends it after its ack timeout. So one
    /// device never makes the broker consumer wait: its excess is taken off the broker and
    /// dropped at once, and the other devices' messages behind it in the broker's queue
    /// are reached and queued. The consumer waits (back-pressure to the broker) only when
    /// the whole queue is full.
    @discardableResult
    public func submit(_ message: ReceivedBatch) async -> Bool {
        let device = message.batch.device
        let share = share
        let admitted = queuedRows.withLock { queued in
            let held = queued[device, default: 0]
            guard !share.sheds(message.rows, held: held) else { return false }
            queued[device] = held + message.rows
            return true
        }
        guard admitted else {
            metrics.shed(readings: message.rows)
            return true
        }
        let added = await queue.push(message, weight: message.rows)
        if added {
            progress.withLock { $0.admitted(message.rows, at: .now) }
        } else {
            release(message)
        }
        metrics.queueRows.set(Double(queue.weight))
        return added
    }

    /// Forgets a message's rows in the per-device count once it left the queue.
    private func release(_ message: ReceivedBatch) {
        queuedRows.withLock { queued in
            let left = queued[message.batch.device, default: 0] - message.rows
            queued[message.batch.device] = left > 0 ? left : nil
        }
    }

    /// Stops taking messages; ``run()`` returns once the queued ones are written.
    public func finish() { queue.finish() }

    /// Runs the assembler and the writers until ``finish()`` and the drain, or cancellation.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.assemble() }
            for writer in 0..<settings.writers {
                group.addTask { await self.write(writer: writer) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    self.metrics.updateRate(now: .now)
                    _ = self.pressure()
                    self.publishStall(now: .now)
                }
            }
            // The rate ticker runs until the others are done.
            await group.next()
            for _ in 0..<settings.writers { await group.next() }
            group.cancelAll()
        }
    }

    /// `outpost_ingest_stalled_seconds` and `/health`'s `ingest_stalled`.
    private func publishStall(now: ContinuousClock.Instant) {
        let limit = Duration.seconds(settings.stallSeconds)
        let (waited, stalled) = progress.withLock { ($0.waited(at: now), $0.isStalled(at: now, limit: limit)) }
        metrics.ingestStall(seconds: Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18, stalled: stalled)
    }

    private func assemble() async {
        var assembler = BatchAssembler(maxRows: settings.batchMaxRows, maxDelay: .milliseconds(settings.batchMaxDelayMs))
        while !Task.isCancelled {
            let message = await queue.pop(until: assembler.closeDeadline)
            metrics.queueRows.set(Double(queue.weight))
            if let message {
                release(message)
                for batch in assembler.add(message, now: .now) {
                    await batches.push(batch, weight: 1)
                }
            } else if let batch = assembler.close(now: .now) {
                await batches.push(batch, weight: 1)
            } else if assembler.closeDeadline == nil {
                // Nothing open and nothing came: finished (or cancelled).
                break
            }
        }
        if let batch = assembler.close(now: .now, force: true) { await batches.push(batch, weight: 1) }
        batches.finish()
    }

    private func write(writer: Int) async {
        while let batch = await batches.pop() {
            await commit(batch, writer: writer)
        }
    }

    /// Writes one batch until it commits (or the task is cancelled), then publishes its acks.
    ///
    /// A message PostgreSQL refuses for its data is isolated by splitting the batch
    /// (``BatchIsolation``): the rest is stored and acked, the offender is dead-lettered and
    /// acked too, since re-sending it could only fail again. Only transient failures retry,
    /// with backoff, holding what is left of the batch.
    private func commit(_ batch: IngestBatch, writer: Int) async {
        var delay = Duration.milliseconds(100)
        var remaining = batch.messages
        let store = store
        while true {
            let outcome = await BatchIsolation<ReceivedBatch, (IngestBatch, ReadingsStore.Outcome)>().write(remaining) { messages in
                let part = IngestBatch(messages)
                let started = ContinuousClock.now
                let written = try await store.write(part)
                metrics.commitSeconds.record(ContinuousClock.now - started)
                return (part, written)
            }
            let finished = ContinuousClock.now
            for (part, written) in outcome.outputs {
                metrics.batchRows.record(Double(part.rows))
                settle(part, written, now: finished)
            }
            if !outcome.offenders.isEmpty { await deadLetter(outcome.offenders) }
            guard let error = outcome.transientError else {
                writeFailing.store(false, ordering: .relaxed)
                metrics.writePath("readings", failing: false)
                return
            }
            remaining = outcome.remaining
            metrics.writeFailures.increment()
            writeFailing.store(true, ordering: .relaxed)
            metrics.writePath("readings", failing: true)
            logger.warning("batch write failed; retrying", metadata: [
                "writer": "\(writer)", "rows": "\(remaining.reduce(0) { $0 + $1.rows })", "retry_in": "\(delay)",
                "error": "\(String(reflecting: error))",
            ])
            guard !Task.isCancelled else { return abandon(remaining) }
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else {
                logger.warning("batch abandoned at shutdown; devices re-send it", metadata: ["rows": "\(batch.rows)"])
                return abandon(remaining)
            }
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// Forgets readings left unwritten at shutdown (their devices re-send them).
    private func abandon(_ messages: [ReceivedBatch]) {
        progress.withLock { $0.dropped(messages.reduce(0) { $0 + $1.rows }) }
    }

    /// Dead-letters messages PostgreSQL refused for their data, counts them, and acks them.
    private func deadLetter(_ offenders: [(item: ReceivedBatch, sqlstate: String)]) async {
        await deadLetters.record(offenders.map {
            DeadLetter(device: $0.item.batch.device, kind: .telemetry, sqlstate: $0.sqlstate, message: $0.item.batch)
        })
        for (message, _) in offenders {
            metrics.rejected(kind: RejectionReason.kind(.telemetry), reason: DeadLetter.databaseRefused, readings: message.rows)
        }
        publishAcks(for: offenders.map { $0.item })
        progress.withLock { $0.committed(offenders.reduce(0) { $0 + $1.item.rows }, at: .now) }
    }

    /// Counts what the commit did and acknowledges the accepted messages.
    private func settle(_ batch: IngestBatch, _ outcome: ReadingsStore.Outcome, now: ContinuousClock.Instant) {
        var accepted: [ReceivedBatch] = []
        var acceptedRows = 0
        for message in batch.messages {
            let device = message.batch.device
            if outcome.accepted.contains(device) {
                accepted.append(message)
                acceptedRows += message.rows
            } else {
                let reason = outcome.revoked.contains(device) ? RejectionReason.revokedDevice : RejectionReason.unknownDevice
                metrics.rejected(kind: RejectionReason.kind(.telemetry), reason: reason, readings: message.rows)
                logger.warning("telemetry refused", metadata: ["device": "\(device)", "reason": "\(reason)", "readings": "\(message.rows)"])
            }
        }
        metrics.stored(outcome.inserted, duplicates: acceptedRows - outcome.inserted, now: now)
        progress.withLock { $0.committed(batch.rows, at: now) }
        if outcome.conflicting > 0 {
            metrics.readingsConflicting.increment(by: Int64(outcome.conflicting))
            logger.warning("readings repeat a stored (buffer, seq) with another ts, metric or value; kept the first, acked", metadata: [
                "devices": "\(outcome.conflictingDevices.map(\.rawValue).sorted())", "readings": "\(outcome.conflicting)",
            ])
        }
        publishAcks(for: accepted)
        let published = ContinuousClock.now
        for message in accepted { metrics.ackLagSeconds.record(published - message.receivedAt) }
    }

    private func publishAcks(for accepted: [ReceivedBatch]) {
        guard !accepted.isEmpty else { return }
        for ack in AckPlanner.acks(for: accepted, pressure: pressure()) {
            do {
                try acks.publish(ack)
                metrics.acksPublished.increment()
            } catch {
                // Not acked means re-sent by the device, and re-delivery inserts nothing.
                logger.warning("ack not published", metadata: ["device": "\(ack.device)", "error": "\(error)"])
            }
        }
    }
}

/// How much of the ingest queue one device may hold.
///
/// A device holds at most `deviceLimit` readings of the queue (at most half of it, so one
/// device never fills it); a message that would take it past that is shed. An honest agent
/// holds at most its in-flight window (by default 8 batches of 500 readings, 4,000), below
/// the default limit of 5,000, so it is never shed. A message larger than the limit is
/// admitted when its device holds nothing, so no size of message is shut out for ever.
public struct DeviceShare: Sendable, Equatable {
    /// Readings one device may have queued.
    public let deviceLimit: Int

    public init(queueLimit: Int, deviceLimit: Int) {
        self.deviceLimit = max(1, min(deviceLimit, queueLimit / 2))
    }

    /// True when a message of `rows` from a device holding `held` queued readings is shed.
    public func sheds(_ rows: Int, held: Int) -> Bool {
        held > 0 && held + rows > deviceLimit
    }

    /// True when the device's next message is shed whatever its size: it holds its whole share.
    public func shedsUndecoded(held: Int) -> Bool {
        held >= deviceLimit
    }
}

/// Sends acks to devices. The aggregator's is its MQTT client.
public protocol AckPublisher: Sendable {
    func publish(_ ack: Ack) throws
}

/// Publishes acks on `outpost/v1/{device}/ack` with QoS 1, without waiting for the
/// broker's PUBACK (libmosquitto queues them, also across a reconnect).
public struct MQTTAckPublisher: AckPublisher {
    let brokers: BrokerSet
    let codec: WireCodec

    /// Acks go to the broker each device was heard on (``BrokerSet/client(for:)``).
    public init(brokers: BrokerSet, codec: WireCodec = WireCodec()) {
        self.brokers = brokers
        self.codec = codec
    }

    public init(client: MQTTClient, codec: WireCodec = WireCodec()) {
        self.init(brokers: BrokerSet(client: client), codec: codec)
    }

    public func publish(_ ack: Ack) throws {
        try brokers.client(for: ack.device).publishDetached(Topic(ack.device, .ack).name, payload: try codec.encode(ack), qos: .atLeastOnce)
    }
}
