import Logging
import OutpostCommon
import Synchronization

/// Decoded telemetry → batches → PostgreSQL → acks.
///
/// ```
/// submit() ─▶ queue (≤ queue_max_rows readings) ─▶ assembler (rows / time) ─▶ batches (≤ writers)
///                                                                               │
///                 acks published after the commit ◀── writer × N ◀──────────────┘
/// ```
///
/// `submit` waits while the queue is full; the caller is the broker consumer, so a flood
/// stops it taking messages and the backlog stays with the broker. A transiently failed
/// write is retried (PostgreSQL restarting) with backoff, holding its batch; no ack goes
/// out for it until it commits. A message refused for its data is dead-lettered instead. Stopping: ``finish()``, then ``run()`` drains what was submitted.
public final class IngestPipeline: Sendable {
    let settings: IngestSettings
    let store: ReadingStore
    let acks: any AckPublisher
    let metrics: AggregatorMetrics
    let logger: Logger
    let deadLetters: DeadLetterStore
    private let queue: BoundedQueue<ReceivedBatch>
    /// Rows each device has in `queue`, and the devices heard lately, for the fair-share check in ``submit(_:)``.
    private let queuedRows = Mutex(Fairness())

    struct Fairness {
        var queued: [DeviceID: Int] = [:]
        var active = ActiveDevices()
    }
    private let batches: BoundedQueue<IngestBatch>

    public init(settings: IngestSettings, store: ReadingStore, acks: any AckPublisher, metrics: AggregatorMetrics, logger: Logger) {
        self.settings = settings
        self.store = store
        self.acks = acks
        self.metrics = metrics
        self.logger = logger
        deadLetters = DeadLetterStore(client: store.client, metrics: metrics, logger: logger)
        queue = BoundedQueue(limit: settings.queueMaxRows)
        batches = BoundedQueue(limit: settings.writers)
    }

    /// Queues a decoded message, waiting while the queue is full. False once finished.
    ///
    /// Fairness: when the queue is full and this message's device already holds more than
    /// twice its fair share of it (the limit divided among the devices heard lately), the
    /// message is shed instead of waiting: not queued, not acked, counted under
    /// `outpost_ingest_shed_total`; the device re-sends it after its ack timeout. So a
    /// flooding device cannot hold the broker consumer while its own backlog drains, and
    /// the other devices' messages keep getting in. A device alone is never shed: it waits
    /// (back-pressure to the broker) as before.
    @discardableResult
    public func submit(_ message: ReceivedBatch) async -> Bool {
        let device = message.batch.device
        let queueWeight = queue.weight
        let now = ContinuousClock.now
        let shed = queuedRows.withLock { fairness in
            fairness.active.saw(device, at: now)
            return FairShare(limit: settings.queueMaxRows).sheds(
                message.rows, held: fairness.queued[device, default: 0], activeDevices: fairness.active.count, queueWeight: queueWeight)
        }
        if shed {
            metrics.shed(readings: message.rows)
            return true
        }
        queuedRows.withLock { $0.queued[device, default: 0] += message.rows }
        let added = await queue.push(message, weight: message.rows)
        if !added { release(message) }
        metrics.queueRows.set(Double(queue.weight))
        return added
    }

    /// Forgets a message's rows in the per-device count once it left the queue.
    private func release(_ message: ReceivedBatch) {
        queuedRows.withLock { fairness in
            let left = fairness.queued[message.batch.device, default: 0] - message.rows
            fairness.queued[message.batch.device] = left > 0 ? left : nil
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
                }
            }
            // The rate ticker runs until the others are done.
            await group.next()
            for _ in 0..<settings.writers { await group.next() }
            group.cancelAll()
        }
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
            let outcome = await BatchIsolation<ReceivedBatch, (IngestBatch, ReadingStore.Outcome)>().write(remaining) { messages in
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
                metrics.writePath("readings", failing: false)
                return
            }
            remaining = outcome.remaining
            metrics.writeFailures.increment()
            metrics.writePath("readings", failing: true)
            logger.warning("batch write failed; retrying", metadata: [
                "writer": "\(writer)", "rows": "\(remaining.reduce(0) { $0 + $1.rows })", "retry_in": "\(delay)",
                "error": "\(String(reflecting: error))",
            ])
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else {
                logger.warning("batch abandoned at shutdown; devices re-send it", metadata: ["rows": "\(batch.rows)"])
                return
            }
            delay = min(delay * 2, .seconds(5))
        }
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
    }

    /// Counts what the commit did and acknowledges the accepted messages.
    private func settle(_ batch: IngestBatch, _ outcome: ReadingStore.Outcome, now: ContinuousClock.Instant) {
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
        publishAcks(for: accepted)
        let published = ContinuousClock.now
        for message in accepted { metrics.ackLagSeconds.record(published - message.receivedAt) }
    }

    private func publishAcks(for accepted: [ReceivedBatch]) {
        for ack in AckPlanner.acks(for: accepted) {
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

/// Who may wait for room in a full ingest queue, and whose message is shed instead.
public struct FairShare: Sendable, Equatable {
    /// The queue's bound, in rows.
    public var limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    /// True when a message of `rows` from a device holding `held` rows of the queue should
    /// be shed: the queue cannot take it now, other devices are sending too, and the device
    /// would then hold more than twice an equal share of the bound among the `activeDevices`
    /// (twice, so devices sending at about the same rate are never shed).
    public func sheds(_ rows: Int, held: Int, activeDevices: Int, queueWeight: Int) -> Bool {
        guard queueWeight + rows > limit, activeDevices > 1 else { return false }
        return held + rows > 2 * limit / activeDevices
    }
}

/// Devices that sent telemetry in the last one to two seconds, counted in O(1) per message:
/// two one-second generations of sets, the older dropped as time moves on.
struct ActiveDevices: Sendable {
    private var current: Set<DeviceID> = []
    private var previous: Set<DeviceID> = []
    private var generationStart: ContinuousClock.Instant?

    mutating func saw(_ device: DeviceID, at now: ContinuousClock.Instant) {
        if let start = generationStart, now - start < .seconds(1) {
            current.insert(device)
            return
        }
        let stale = generationStart.map { now - $0 >= .seconds(2) } ?? true
        previous = stale ? [] : current
        current = [device]
        generationStart = now
    }

    /// Distinct devices heard in the current and the previous generation.
    var count: Int { current.count + previous.subtracting(current).count }
}

/// Sends acks to devices. The aggregator's is its MQTT client.
public protocol AckPublisher: Sendable {
    func publish(_ ack: Ack) throws
}

/// Publishes acks on `outpost/v1/{device}/ack` with QoS 1, without waiting for the
/// broker's PUBACK (libmosquitto queues them, also across a reconnect).
public struct MQTTAckPublisher: AckPublisher {
    let client: MQTTClient
    let codec: WireCodec

    public init(client: MQTTClient, codec: WireCodec = WireCodec()) {
        self.client = client
        self.codec = codec
    }

    public func publish(_ ack: Ack) throws {
        try client.publishDetached(Topic(ack.device, .ack).name, payload: try codec.encode(ack), qos: .atLeastOnce)
    }
}
