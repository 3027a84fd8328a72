import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Live view of cameras through Janus: one SRTP mountpoint per camera however many
/// watch, torn down on stop, when the device goes offline, and when nobody watched (or no
/// media arrived) for `idleTimeoutSeconds`. The start itself is driven by the admin API
/// (it waits for the agent's answer the way stream commands do).
public struct LiveView: Sendable {
    let settings: LiveSettings
    let janus: JanusClient
    let adminKey: String
    let store: LiveSessionsStore
    /// Presence, for the teardown of sessions whose camera went offline.
    let devices: DevicesStore
    /// Who created each Janus session of the browser relay.
    let relaySessions: LiveRelaySessionsStore
    let commands: CommandsStore
    let audit: AuditLog
    let metrics: AggregatorMetrics
    let logger: Logger
    /// The cameras this aggregator records: live view of one of them joins the recorder's
    /// stream (docs/recordings.md) instead of asking the agent for a second one.
    let ingress: RecordingIngress?
    /// The relays of cameras recorded on any aggregator, which a live view joins the same way.
    let relays: MediaRelaysStore
    /// Serializes starts per device within this process; across aggregators the table's
    /// primary key decides and the loser undoes its mountpoint.
    let gate = DeviceGate()

    /// Who the audit log names for teardowns nobody asked for (idle, offline).
    static let systemOrigin = AuditLog.Origin(principal: Principal(kind: .cli, id: "live-view", name: "live-view", role: .admin),
                                              sourceIP: "local", requestID: nil)

    /// Nil when live view is off (no `live.janus_url`).
    public static func make(settings: LiveSettings, client: PostgresPool, metrics: AggregatorMetrics, ingress: RecordingIngress? = nil,
                            logger: Logger) throws -> LiveView?
    {
        guard let url = settings.janusUrl else { return nil }
        let secrets = try JanusConfigGenerator.readSecrets(from: settings.janusConfigDir)
        return LiveView(settings: settings, janus: JanusClient(baseURL: url, secrets: secrets), adminKey: secrets.adminKey,
                        store: LiveSessionsStore(client: client, logger: logger), devices: DevicesStore(client: client, logger: logger),
                        relaySessions: LiveRelaySessionsStore(client: client, logger: logger),
                        commands: CommandsStore(client: client, logger: logger),
                        audit: AuditLog(client: client, logger: logger), metrics: metrics, logger: logger, ingress: ingress,
                        relays: MediaRelaysStore(client: client, logger: logger))
    }

    /// Ends the session and its stream, then destroys the mountpoint. The row's delete queues
    /// the agent's `stop_stream` in the same statement (``LiveSessionsStore/end(device:mountpoint:reason:stop:)``),
    /// so the stop is as durable as the delete and follows the row as it was deleted, not the
    /// caller's snapshot; for a recorded camera the relay's copy to Janus stops instead (at once
    /// when the relay runs here, within a second on another aggregator once the row is gone).
    /// Only the teardown that deletes the row acts: an operator's stop and the sweep (which sees
    /// the mountpoint that stop just destroyed) may race, and the loser must not send a second
    /// `stop_stream`. A mountpoint Janus refuses to destroy is logged; Janus drops it when it restarts.
    func teardown(_ session: LiveSessionsStore.Session, reason: String, origin: AuditLog.Origin) async throws {
        // Addressed to the mountpoint: if the recorder re-points the stream after this, the
        // agent keeps it running (stream_other_destination).
        guard let ended = try await store.end(device: session.device, mountpoint: session.mountpoint, reason: reason,
                                              stop: .init(fallbackHost: settings.mediaAddress, ttlSeconds: 30, actor: origin.actor))
        else { return }
        if let command = ended.stopCommand {
            try await audit.record("command.send", target: "device:\(session.device)", detail: ["command": command, "name": "stop_stream"],
                                   origin: origin)
        } else if ended.startCommand == LiveSessionsStore.fromRecording {
            await ingress?.session(session.device)?.relay.remove(
                RTPRelay.Destination(host: ended.mediaHost ?? settings.mediaAddress, rtpPort: ended.rtpPort, rtcpPort: ended.rtcpPort))
        }
        do {
            try await janus.destroyMountpoint(id: session.mountpoint)
        } catch {
            logger.warning("mountpoint not destroyed", metadata: ["device": "\(session.device)", "mountpoint": "\(session.mountpoint)", "error": "\(error)"])
        }
        try await audit.record("live.stop", target: "device:\(session.device)",
                               detail: ["mountpoint": "\(session.mountpoint)", "reason": reason], origin: origin)
        metrics.live("ended", reason: reason)
        logger.info("live view ended", metadata: ["device": "\(session.device)", "mountpoint": "\(session.mountpoint)", "reason": "\(reason)"])
    }

    /// One pass over the live sessions: records viewers, tears down what should end, and
    /// forgets relay sessions Janus has long dropped.
    /// A Janus that does not answer ends nothing (it may be restarting).
    func sweep(now: Date = Date()) async {
        do {
            let forgotten = try await relaySessions.sweep()
            if forgotten > 0 { logger.info("forgot unused relay sessions", metadata: ["count": "\(forgotten)"]) }
        } catch {
            logger.warning("relay sessions not swept", metadata: ["error": "\(error)"])
        }
        let sessions: [LiveSessionsStore.Session]
        do { sessions = try await store.all() } catch {
            logger.warning("live sessions not readable", metadata: ["error": "\(error)"])
            return
        }
        for session in sessions {
            do {
                let info = try await janus.mountpointInfo(id: session.mountpoint)
                var idleSince = session.lastViewerAt
                if let info {
                    try await store.recordViewers(device: session.device, count: info.viewers)
                    if info.viewers > 0 { idleSince = now }
                }
                let offline = try await devices.isOffline(device: session.device)
                if let reason = LivePlan.teardownReason(
                    deviceOffline: offline, exists: info != nil, viewers: info?.viewers ?? 0, idleSince: idleSince,
                    mediaAgeMs: info?.mediaAgeMs, startedAt: session.startedAt, now: now,
                    idleTimeout: TimeInterval(settings.idleTimeoutSeconds))
                {
                    try await teardown(session, reason: reason, origin: Self.systemOrigin)
                }
            } catch {
                logger.warning("live session check failed", metadata: ["device": "\(session.device)", "error": "\(error)"])
            }
        }
    }
}

/// Runs ``LiveView/sweep(now:)`` every `checkIntervalSeconds` once the schema is ready.
public struct LiveViewService: Service {
    let live: LiveView
    let readiness: SchemaReadiness

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        let interval = Duration.seconds(live.settings.checkIntervalSeconds)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await live.sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// One start at a time per device.
actor DeviceGate {
    private var busy: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    func withDevice<T: Sendable>(_ device: String, _ body: @Sendable () async throws -> T) async throws -> T {
        while busy.contains(device) {
            await withCheckedContinuation { waiters[device, default: []].append($0) }
        }
        busy.insert(device)
        defer {
            busy.remove(device)
            for waiter in waiters.removeValue(forKey: device) ?? [] { waiter.resume() }
        }
        return try await body()
    }
}
