import Logging
import OutpostWire
import ServiceLifecycle

/// Writes presence in batches and marks silent devices offline.
///
/// State messages: a batch of up to `stateBatchMax` (500) from the ``StateBacklog`` in one
/// statement and one commit, as soon as a batch is full or ``stateLinger`` after the first of
/// them arrived; while a write runs, the next batch gathers. A transiently failed batch is held
/// and retried with backoff (100 ms doubling to 5 s) while the rest of presence goes on.
/// Every `flush_interval_ms`: all last-seen times in one statement, then all events in one
/// statement. Every sweep: devices silent past `offline_after_seconds` go offline, and
/// `outpost_devices_online` is refreshed. A transiently failed flush keeps its data and is
/// retried at the next tick; a message PostgreSQL refuses for its data is dead-lettered
/// (`rejected_messages`). At graceful shutdown whatever is pending is written once more;
/// what a failed write leaves is abandoned (a device's retained state is replayed at the next start).
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

    /// How long the first pending state message waits for others to share its statement: short
    /// against the console's live feed, long enough that a burst goes in one commit.
    public static let stateLinger = Duration.milliseconds(5)

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        var pending = Pending()
        var retry: StateRetry? = nil
        let flushInterval = Duration.milliseconds(settings.flushIntervalMs)
        var nextFlush = ContinuousClock.now + flushInterval
        var nextSweep = ContinuousClock.now
        var flushSucceeded = true
        await withGracefulShutdownHandler {
            while true {
                let wake = min(nextFlush, nextSweep, statesDue(retry) ?? nextFlush)
                if pending.count < Self.maxPending {
                    if let input = await recorder.inputs.pop(until: wake) {
                        if case .event(let event) = input { pending.events.append(event) }
                        if pending.count < Self.maxPending && ContinuousClock.now < wake { continue }
                    }
                } else if ContinuousClock.now < min(nextFlush, statesDue(retry) ?? nextFlush) && !recorder.inputs.isFinished {
                    // The last flush failed with a full buffer: leave new events with the
                    // queue (and so the broker consumer waits) until the next try.
                    try? await Task.sleep(until: min(nextFlush, statesDue(retry) ?? nextFlush))
                }
                let now = ContinuousClock.now
                let stopping = recorder.inputs.isFinished || Task.isCancelled
                if stopping {
                    await writeRemainingStates(&retry, flushFailing: !flushSucceeded)
                } else if let due = statesDue(retry), now >= due {
                    await writeStates(&retry, flushFailing: !flushSucceeded)
                }
                if now >= nextFlush || stopping || (pending.count >= Self.maxPending && flushSucceeded) {
                    flushSucceeded = await flush(&pending, statesFailing: retry != nil)
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

    /// Events held between flushes.
    static let maxPending = 1_000

    struct Pending {
        var events: [DeviceEvent] = []
        var seen: [DeviceID: SeenWindow] = [:]
        var count: Int { events.count }

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

    /// State messages taken from the backlog whose write failed transiently, and when to try again.
    struct StateRetry {
        var batch: [StateObservation]
        var at: ContinuousClock.Instant
        var delay: Duration
    }

    /// When state messages are next to be written: the held batch's retry, else the backlog's due time.
    private func statesDue(_ retry: StateRetry?) -> ContinuousClock.Instant? {
        retry?.at ?? recorder.statesDue(linger: Self.stateLinger)
    }

    /// Writes the held batch, or the next one from the backlog; false when PostgreSQL failed
    /// transiently (what is left is held in `retry`). A state refused for its data is
    /// dead-lettered, found by splitting its batch (``BatchIsolation``).
    @discardableResult
    /// `flushFailing`: the last flush of last-seen times and events failed, so a state write's
    /// success leaves the presence write path failing (both writers report as one path).
    private func writeStates(_ retry: inout StateRetry?, flushFailing: Bool) async -> Bool {
        let batch = retry?.batch ?? recorder.takeStates()
        guard !batch.isEmpty else { return true }
        let store = store
        let outcome = await BatchIsolation<StateObservation, ([StateObservation], [Int])>().write(batch) { part in
            (part, try await store.apply(part))
        }
        for (part, refused) in outcome.outputs {
            metrics.stateBatchMessages.record(Double(part.count))
            for index in refused {
                metrics.rejected(kind: RejectionReason.kind(.state), reason: RejectionReason.unknownDevice)
                logger.warning("state of an unknown or revoked device", metadata: ["device": "\(part[index].state.device)"])
            }
        }
        if !outcome.offenders.isEmpty {
            for _ in outcome.offenders {
                metrics.rejected(kind: RejectionReason.kind(.state), reason: DeadLetter.databaseRefused)
            }
            await RejectedMessagesStore(client: store.client, metrics: metrics, logger: logger).record(outcome.offenders.map {
                DeadLetter(device: $0.item.state.device, kind: .state, sqlstate: $0.sqlstate, message: $0.item.state)
            })
        }
        guard let error = outcome.transientError else {
            retry = nil
            metrics.writePath("presence", failing: flushFailing)
            return true
        }
        let delay = retry.map { min($0.delay * 2, .seconds(5)) } ?? .milliseconds(100)
        retry = StateRetry(batch: outcome.remaining, at: .now + delay, delay: delay)
        metrics.stateFlushFailures.increment()
        metrics.writePath("presence", failing: true)
        logger.warning("state write failed; retrying", metadata: [
            "states": "\(outcome.remaining.count)", "retry_in": "\(delay)", "error": "\(String(reflecting: error))",
        ])
        return false
    }

    /// At shutdown: writes every pending state message; after a failed write the rest is abandoned.
    private func writeRemainingStates(_ retry: inout StateRetry?, flushFailing: Bool) async {
        while await writeStates(&retry, flushFailing: flushFailing) {
            if retry == nil && recorder.statesDue(linger: .zero) == nil { return }
        }
        let abandoned = (retry?.batch.count ?? 0) + recorder.takeAllStates().count
        logger.warning("state messages abandoned at shutdown; retained states are replayed at the next start",
                       metadata: ["states": "\(abandoned)"])
    }

    /// Writes last-seen times and events; false when PostgreSQL failed transiently (the rest
    /// stays pending). The presence write path stays failing while `statesFailing`. An event refused for its data is dead-lettered and dropped,
    /// events found by splitting their batch (``BatchIsolation``), so it never holds up the others.
    private func flush(_ pending: inout Pending, statesFailing: Bool) async -> Bool {
        pending.merge(recorder.takeSeen())
        let deadLetters = RejectedMessagesStore(client: store.client, metrics: metrics, logger: logger)
        do {
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
            metrics.writePath("presence", failing: statesFailing)
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
