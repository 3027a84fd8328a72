import Logging
import OutpostMQTT
import OutpostWire

/// Takes every message the broker delivers, decodes it strictly, and hands it on:
/// telemetry to the ``IngestPipeline``, state and events to the ``PresenceRecorder``,
/// command results to the command service. Anything refused is counted under
/// `outpost_ingest_rejected_total{kind, reason}` and logged without its payload.
///
/// Handing on waits when the next stage is full, so a slow database slows this loop,
/// which leaves the backlog with the broker (see ``MQTTEvents``); a state message never waits:
/// an older pending state of its device is coalesced instead (``StateBacklog``). A telemetry message of a
/// device that already holds its whole share of the ingest queue (``DeviceShare``) is shed
/// after parsing only its topic, so a flood is taken off the broker at topic-parse speed
/// and the other devices' messages queued behind it are reached at once. While this loop is
/// saturated, a device sending more telemetry than twice an equal share of what got through
/// in the last second is shed before decoding (``DecodeShare``), so a flood costs only its
/// topic parse and the other devices' messages behind it are reached at once.
public struct MessageRouter: Sendable {
    let codec: WireCodec
    let pipeline: IngestPipeline
    let presence: PresenceRecorder
    let commands: BoundedQueue<CommandInbox>
    let metrics: AggregatorMetrics
    /// Told which broker each device was heard on, so acks and commands go back there; nil: one broker.
    let brokers: BrokerSet?
    let logger: Logger

    public init(codec: WireCodec, pipeline: IngestPipeline, presence: PresenceRecorder,
                commands: BoundedQueue<CommandInbox>, metrics: AggregatorMetrics, brokers: BrokerSet? = nil, logger: Logger) {
        self.codec = codec
        self.brokers = brokers
        self.pipeline = pipeline
        self.presence = presence
        self.commands = commands
        self.metrics = metrics
        self.logger = logger
    }

    /// Consumes `events` (of the broker at `broker` in ``brokers``) until they end or the task is cancelled.
    public func run(_ events: MQTTEvents, broker: Int = 0) async {
        var share = DecodeShare()
        var windows = 0
        for await event in events {
            if Task.isCancelled { break }
            guard case .message(let message) = event else { continue }
            let started = ContinuousClock.now
            if let device = DecodeShare.telemetryDevice(message.topic),
               pipeline.isFull(device) || !share.admit(device, at: started) {
                metrics.shed(readings: 0)
            } else {
                await route(message, broker: broker)
            }
            share.busy(ContinuousClock.now - started, at: started)
            if share.closedWindows != windows {
                windows = share.closedWindows
                pipeline.routerBusy(share.busyShare, broker: broker, at: started)
            }
        }
    }

    /// Decodes and hands on one message that came from the broker at `broker`.
    public func route(_ message: MQTTMessage, broker: Int = 0) async {
        let receivedAtMs = WireClock.nowMs()
        let topic: Topic
        do throws(WireError) {
            topic = try Topic(parsing: message.topic)
        } catch {
            refuse(kind: "unknown", error, topic: message.topic)
            return
        }
        do throws(WireError) {
            switch topic.kind {
            case .telemetry:
                let batch = try codec.decode(TelemetryBatch.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                heard(topic, message, on: broker)
                presence.saw(topic.device, atMs: receivedAtMs)
                await pipeline.submit(ReceivedBatch(batch: batch, receivedAt: .now))
            case .state:
                let state = try codec.decode(DeviceState.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                let observation = StateObservation(state: state, retained: message.retain, receivedAtMs: receivedAtMs)
                if presence.record(observation) == .coalesced { metrics.statesCoalesced.increment() }
            case .events:
                let event = try codec.decode(DeviceEvent.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                heard(topic, message, on: broker)
                presence.saw(topic.device, atMs: receivedAtMs)
                await presence.record(event)
            case .cmdResult:
                let result = try codec.decode(CommandResult.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                heard(topic, message, on: broker)
                presence.saw(topic.device, atMs: receivedAtMs)
                await commands.push(.result(topic.device, result), weight: 1)
            case .ack, .cmd:
                throw WireError(.invalidTopic, "the centre does not consume \(topic.kind.rawValue)")
            }
        } catch {
            refuse(kind: RejectionReason.kind(topic.kind), error, topic: message.topic)
        }
    }

    /// Tells ``brokers`` the device is connected to `broker` when `message` proves it.
    private func heard(_ topic: Topic, _ message: MQTTMessage, on broker: Int) {
        if Self.showsConnection(topic.kind, retained: message.retain) { brokers?.heard(topic.device, on: broker) }
    }

    /// Whether a message of `kind` shows where its device is connected now: only live telemetry,
    /// events and command results do. A retained message was published at some earlier time,
    /// perhaps on a broker the device has since left (its old `online` stays there until the
    /// session's will replaces it), and a state message is retained by design, so neither may
    /// send acks and commands to that broker.
    static func showsConnection(_ kind: Topic.Kind, retained: Bool) -> Bool {
        guard !retained else { return false }
        switch kind {
        case .telemetry, .events, .cmdResult: return true
        case .state, .ack, .cmd: return false
        }
    }

    private func refuse(kind: String, _ error: WireError, topic: String) {
        metrics.rejected(kind: kind, reason: RejectionReason.wire(error))
        logger.warning("message refused", metadata: [
            "topic": "\(topic.prefix(200))", "reason": "\(error.code)", "detail": "\(error.context.prefix(300))",
        ])
    }
}

/// Fairness at the router, before decoding: per one-second window, how many telemetry
/// messages each device got through, and how much of the window the loop was busy.
///
/// When the previous window was saturated (busy ≥ 80 %) and more than one device sent,
/// a device is admitted at most `2 × previous total / previous devices` messages in the
/// current window (twice the average, so devices sending at about the same rate are never
/// shed); the rest are shed (not decoded, not acked, re-sent by the device).
public struct DecodeShare: Sendable {
    private var windowStart: ContinuousClock.Instant?
    private var counts: [DeviceID: Int] = [:]
    private var busyTime: Duration = .zero
    /// Messages per device allowed in this window; nil when the loop is not saturated.
    private(set) var allowance: Int?
    /// The share of the last closed window the loop was busy (0 after a window of 2 s or more:
    /// a gap, not load), for ``IngestPressure``.
    public private(set) var busyShare = 0.0
    /// Windows closed so far: a new ``busyShare`` each.
    public private(set) var closedWindows = 0

    public init() {}

    /// The device of a telemetry topic, from the topic alone; nil for other topics.
    static func telemetryDevice(_ topic: String) -> DeviceID? {
        guard let parsed = try? Topic(parsing: topic), parsed.kind == .telemetry else { return nil }
        return parsed.device
    }

    /// Counts one message of `device`; false when it is over its allowance.
    public mutating func admit(_ device: DeviceID, at now: ContinuousClock.Instant) -> Bool {
        roll(now)
        let sent = counts[device, default: 0]
        if let allowance, sent >= allowance { return false }
        counts[device] = sent + 1
        return true
    }

    /// Adds time the loop spent on one message.
    public mutating func busy(_ duration: Duration, at now: ContinuousClock.Instant) {
        roll(now)
        busyTime += duration
    }

    private mutating func roll(_ now: ContinuousClock.Instant) {
        guard let start = windowStart else {
            windowStart = now
            return
        }
        guard now - start >= .seconds(1) else { return }
        let saturated = now - start < .seconds(2) && busyTime >= (now - start) * 0.8
        busyShare = now - start < .seconds(2) ? min(1, busyTime / (now - start)) : 0
        closedWindows += 1
        let total = counts.values.reduce(0, +)
        allowance = saturated && counts.count > 1 ? max(1, 2 * total / counts.count) : nil
        counts = [:]
        busyTime = .zero
        windowStart = now
    }
}
