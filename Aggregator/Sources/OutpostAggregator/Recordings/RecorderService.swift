import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs a ``CameraRecorder`` for each online camera whose recording mode asks for it now
/// and that this aggregator has claimed (`recording_claims`; a claim not renewed for
/// `staleClaimSeconds` passes to another aggregator). Every `checkIntervalSeconds` it
/// starts what is wanted and stops what is not, and finishes segments left `recording` by a
/// crash (``RecordingLibrary/finishAbandoned(owner:except:staleAfter:)``) and deletes the relays
/// (and stream keys) of recorders that died (``MediaRelaysStore/sweepLapsed()``); on shutdown it stops
/// every recorder, so each engine closes its segment and gets SIGTERM by PID.
public struct RecorderService: Service {
    let settings: RecordingSettings
    let owner: String
    let store: RecordingsStore
    let library: RecordingLibrary
    let ingress: RecordingIngress
    let relays: MediaRelaysStore
    let liveSessions: LiveSessionsStore
    let commands: CommandsStore
    let audit: AuditLog
    let metrics: AggregatorMetrics
    let readiness: SchemaReadiness
    let logger: Logger

    /// Three missed check intervals, at least 15 s.
    var staleClaimSeconds: Int { max(15, settings.checkIntervalSeconds * 3) }

    public init(settings: RecordingSettings, owner: String, client: PostgresPool, ingress: RecordingIngress, metrics: AggregatorMetrics,
                readiness: SchemaReadiness, logger: Logger) {
        self.ingress = ingress
        self.settings = settings
        self.owner = owner
        store = RecordingsStore(client: client, logger: logger)
        library = RecordingLibrary(settings: settings, store: store, metrics: metrics, logger: logger)
        relays = MediaRelaysStore(client: client, logger: logger)
        liveSessions = LiveSessionsStore(client: client, logger: logger)
        commands = CommandsStore(client: client, logger: logger)
        audit = AuditLog(client: client, logger: logger)
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
    }

    func recorder(for device: String, inheritsStream: Bool = false) -> CameraRecorder {
        var recorder = CameraRecorder(device: device, owner: owner, settings: settings, library: library, ingress: ingress, relays: relays,
                                      liveSessions: liveSessions, commands: commands, audit: audit, metrics: metrics, logger: logger)
        recorder.inheritsStream = inheritsStream
        return recorder
    }

    /// Ends the engines an aggregator killed with this recordings directory left running
    /// (``OrphanedEngines``), counted, and finishes their runs' segments, before any recorder
    /// starts (a new engine for the camera would otherwise race the old one).
    /// Returns their cameras.
    func endOrphanedEngines() async -> Set<String> {
        let engines = (settings.directory as NSString).appendingPathComponent(".engine")
        var devices = Set<String>()
        for record in await OrphanedEngines(directory: engines).end() {
            devices.insert(record.device)
            metrics.orphanedEngineEnded()
            logger.warning("orphaned media engine ended", metadata: ["device": "\(record.device)", "pid": "\(record.pid)"])
            do {
                try await library.finishRun(device: record.device, runPrefix: record.runPrefix)
            } catch {
                logger.warning("orphaned engine's segments not finished", metadata: ["device": "\(record.device)", "error": "\(error)"])
            }
        }
        return devices
    }

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        let orphaned = await endOrphanedEngines()
        await cancelWhenGracefulShutdown {
            var inherited = orphaned
            var running: [String: Task<Void, Never>] = [:]
            while !Task.isCancelled {
                do {
                    let wanted = Set(try await store.wantedDevices())
                    for device in wanted.sorted() {
                        guard try await store.claim(device: device, owner: owner, staleAfter: staleClaimSeconds) else {
                            // Another aggregator holds the claim (it took over one this one let go
                            // stale): only one may drive the camera's single stream.
                            if let task = running.removeValue(forKey: device) {
                                logger.warning("recording claim lost to another aggregator; stopping", metadata: ["device": "\(device)"])
                                task.cancel()
                                await task.value
                            }
                            continue
                        }
                        if running[device] == nil {
                            let recorder = recorder(for: device, inheritsStream: inherited.remove(device) != nil)
                            running[device] = Task { await recorder.run() }
                        }
                    }
                    for (device, task) in running where !wanted.contains(device) {
                        task.cancel()
                        await task.value
                        running[device] = nil
                        try await store.release(device: device, owner: owner)
                    }
                    try await library.finishAbandoned(owner: owner, except: Set(running.keys), staleAfter: staleClaimSeconds)
                    let swept = try await relays.sweepLapsed()
                    if swept > 0 { logger.notice("media relays of dead recorders removed", metadata: ["count": "\(swept)"]) }
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("recording check failed", metadata: ["error": "\(error)"])
                }
                metrics.recordersRunning(running.count)
                try? await Task.sleep(for: .seconds(settings.checkIntervalSeconds))
            }
            for task in running.values { task.cancel() }
            for (device, task) in running {
                await task.value
                try? await store.release(device: device, owner: owner)
            }
            metrics.recordersRunning(0)
        }
    }
}
