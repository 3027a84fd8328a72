import Logging
import OutpostWire
import ServiceLifecycle

/// Writes presence in batches and marks silent devices offline.
///
/// Every `flush_interval_ms`: state messages in arrival order, then all last-seen
/// times in one statement, then all events in one statement. Every sweep: devices
/// silent past `offline_after_seconds` go offline, and `outpost_devices_online` is
/// refreshed. A transiently failed flush keeps its data and is retried at the next tick;
/// a message PostgreSQL refuses for its data is dead-lettered (`rejected_messages`). At
/// graceful shutdown whatever is pending is flushed once more.
public struct PresenceService: Service {
    let recorder: PresenceRecorder
    let store: DevicesStore
    let settings: DeviceSettings
    let readiness: SchemaReadiness
    let metrics: AggregatorMetrics
    let logger: Logger

    public init(recorder: PresenceRecorder, store: DevicesStore, settings: DeviceSettings, readiness: SchemaReadiness,
                metrics: AggregatorMetrics, logger: Logger) {
        self.recorder = recorder
        self.store = store
        self.settings = settings
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    /// How often the silence sweep runs: a tenth of the silence, between 1 s and 10 s.
    var sweepInterval: Duration { .seconds(min(10, max(1, settings.offlineAfterSeconds / 10))) }

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        var pending = Pending()
        let flushInterval = Duration.milliseconds(settings.flushIntervalMs)
        var nextFlush = ContinuousClock.now + flushInterval
        var nextSweep = ContinuousClock.now
        var flushSucceeded = true
        await withGracefulShutdownHandler {
            while true {
                if pending.count < Self.maxPending {
                    if let input = await recorder.inputs.pop(until: min(nextFlush, nextSweep)) {
                        pending.add(input)
                        if pending.count < Self.maxPending { continue }
                    }
                } else if ContinuousClock.now < nextFlush && !recorder.inputs.isFinished {
                    // The last flush failed with a full buffer: leave new input with the
                    // queue (and so the broker consumer waits) until the next try.
                    try? await Task.sleep(until: nextFlush)
                }
                let now = ContinuousClock.now
                let stopping = recorder.inputs.isFinished || Task.isCancelled
                if now >= nextFlush || stopping || (pending.count >= Self.maxPending && flushSucceeded) {
                    flushSucceeded = await flush(&pending)
                    nextFlush = now + flushInterval
                }
                if stopping { break }
                if now >= nextSweep {
                    await sweep()
                    nextSweep = now + sweepInterval
                }
            }
        } onGracefulShutdown: {
            recorder.inputs.finish()
        }
    }

    /// State messages and events held between flushes.
    static let maxPending = 1_000

    struct Pending {
        var states: [StateObservation] = []
        var events: [DeviceEvent] = []
        var seen: [DeviceID: SeenWindow] = [:]
        var count: Int { states.count + events.count }

        mutating func add(_ input: PresenceRecorder.Input) {
            switch input {
            case .state(let observation): states.append(observation)
            case .event(let event): events.append(event)
            }
        }

        mutating func merge(_ more: [DeviceID: SeenWindow]) {
            for (device, window) in more {
                if seen[device] != nil {
                    seen[device]!.merge(window.firstMs)
                    seen[device]!.merge(window.lastMs)
                } else {
                    seen[device] = window
                }
            }
        }
    }

    /// Writes what is pending; false when PostgreSQL failed transiently (the rest stays
    /// pending). A state message or event refused for its data is dead-lettered and dropped,
    /// events found by splitting their batch (``BatchIsolation``), so it never holds up the others.
    private func flush(_ pending: inout Pending) async -> Bool {
        pending.merge(recorder.takeSeen())
        let deadLetters = RejectedMessagesStore(client: store.client, metrics: metrics, logger: logger)
        do {
            while let observation = pending.states.first {
                do {
                    if try await !store.apply(observation) {
                        metrics.rejected(kind: RejectionReason.kind(.state), reason: RejectionReason.unknownDevice)
                        logger.warning("state of an unknown or revoked device", metadata: ["device": "\(observation.state.device)"])
                    }
                } catch {
                    guard case .data(let sqlstate) = WriteFailure.classify(error) else { throw error }
                    metrics.rejected(kind: RejectionReason.kind(.state), reason: DeadLetter.databaseRefused)
                    await deadLetters.record([DeadLetter(device: observation.state.device, kind: .state, sqlstate: sqlstate,
                                                         message: observation.state)])
                }
                pending.states.removeFirst()
            }
            try await store.recordSeen(pending.seen)
            pending.seen = [:]
            if !pending.events.isEmpty {
                let eventsStore = DeviceEventsStore(client: store.client, logger: store.logger)
                let outcome = await BatchIsolation<DeviceEvent, ([DeviceEvent], Set<DeviceID>)>().write(pending.events) { events in
                    (events, try await eventsStore.insert(events))
                }
                for (events, accepted) in outcome.outputs {
                    for event in events where !accepted.contains(event.device) {
                        metrics.rejected(kind: RejectionReason.kind(.events), reason: RejectionReason.unknownDevice)
                    }
                    for event in events where accepted.contains(event.device) && event.kind == DeviceEvent.Kind.streamStats {
                        metrics.cameraStream(event)
                    }
                }
                for _ in outcome.offenders {
                    metrics.rejected(kind: RejectionReason.kind(.events), reason: DeadLetter.databaseRefused)
                }
                await deadLetters.record(outcome.offenders.map {
                    DeadLetter(device: $0.item.device, kind: .events, sqlstate: $0.sqlstate, message: $0.item)
                })
                pending.events = outcome.remaining
                if let error = outcome.transientError { throw error }
            }
            metrics.fleet(try await store.fleet())
            metrics.writePath("presence", failing: false)
            return true
        } catch {
            metrics.stateFlushFailures.increment()
            metrics.writePath("presence", failing: true)
            logger.warning("presence flush failed; retrying at the next tick", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }

    private func sweep() async {
        do {
            let gone = try await store.markSilent(olderThanSeconds: settings.offlineAfterSeconds)
            if gone > 0 {
                metrics.devicesWentOffline.increment(by: Int64(gone))
                logger.info("devices fell silent", metadata: ["count": "\(gone)"])
            }
            metrics.fleet(try await store.fleet())
        } catch {
            logger.warning("silence sweep failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
