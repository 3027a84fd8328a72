import Logging
import OutpostCommon

/// Takes every message the broker delivers, decodes it strictly, and hands it on:
/// telemetry to the ``IngestPipeline``, state and events to the ``PresenceRecorder``,
/// command results to the command service. Anything refused is counted under
/// `outpost_ingest_rejected_total{kind, reason}` and logged without its payload.
///
/// Handing on waits when the next stage is full, so a slow database slows this loop,
/// which leaves the backlog with the broker (see ``MQTTEvents``).
public struct MessageRouter: Sendable {
    let codec: WireCodec
    let pipeline: IngestPipeline
    let presence: PresenceRecorder
    let commands: BoundedQueue<CommandInbox>
    let metrics: AggregatorMetrics
    let logger: Logger

    public init(codec: WireCodec, pipeline: IngestPipeline, presence: PresenceRecorder,
                commands: BoundedQueue<CommandInbox>, metrics: AggregatorMetrics, logger: Logger) {
        self.codec = codec
        self.pipeline = pipeline
        self.presence = presence
        self.commands = commands
        self.metrics = metrics
        self.logger = logger
    }

    /// Consumes `events` until they end or the task is cancelled.
    public func run(_ events: MQTTEvents) async {
        for await event in events {
            if Task.isCancelled { break }
            guard case .message(let message) = event else { continue }
            await route(message)
        }
    }

    /// Decodes and hands on one message.
    public func route(_ message: MQTTMessage) async {
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
                presence.saw(topic.device, atMs: receivedAtMs)
                await pipeline.submit(ReceivedBatch(batch: batch, receivedAt: .now))
            case .state:
                let state = try codec.decode(DeviceState.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                await presence.record(.state(StateObservation(state: state, retained: message.retain, receivedAtMs: receivedAtMs)))
            case .events:
                let event = try codec.decode(DeviceEvent.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                presence.saw(topic.device, atMs: receivedAtMs)
                await presence.record(.event(event))
            case .cmdResult:
                let result = try codec.decode(CommandResult.self, from: message.payload, topicDevice: topic.device, nowMs: receivedAtMs)
                presence.saw(topic.device, atMs: receivedAtMs)
                await commands.push(.result(topic.device, result), weight: 1)
            case .ack, .cmd:
                throw WireError(.invalidTopic, "the centre does not consume \(topic.kind.rawValue)")
            }
        } catch {
            refuse(kind: RejectionReason.kind(topic.kind), error, topic: message.topic)
        }
    }

    private func refuse(kind: String, _ error: WireError, topic: String) {
        metrics.rejected(kind: kind, reason: RejectionReason.wire(error))
        logger.warning("message refused", metadata: [
            "topic": "\(topic.prefix(200))", "reason": "\(error.code)", "detail": "\(error.context.prefix(300))",
        ])
    }
}
