import Foundation
import Logging
import PostgresNIO

/// The `live_sessions` table: which camera has a mountpoint, on which ports, since when,
/// and when it last had a viewer.
public struct LiveSessionsStore: Sendable {
    public struct Session: Sendable, Equatable, Codable {
        public var device: String
        public var mountpoint: Int
        public var rtpPort: Int
        public var rtcpPort: Int
        public var startCommand: String
        public var startedBy: String
        public var startedAt: Date
        public var lastViewerAt: Date
        /// The address the mountpoint receives on; nil for a session from before it was kept.
        public var mediaHost: String? = nil
    }

    /// `start_command` of a session fed by the recorder's relay rather than its own `start_stream`.
    public static let fromRecording = "recording"

    let client: PostgresPool
    let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "device, mountpoint, rtp_port, rtcp_port, start_command, started_by, started_at, last_viewer_at, media_host"

    private func sessions(_ rows: PostgresRowSequence) async throws -> [Session] {
        var result: [Session] = []
        for try await row in rows.decode((String, Int32, Int32, Int32, String, String, Date, Date, String?).self) {
            result.append(Session(device: row.0, mountpoint: Int(row.1), rtpPort: Int(row.2), rtcpPort: Int(row.3), startCommand: row.4,
                                  startedBy: row.5, startedAt: row.6, lastViewerAt: row.7, mediaHost: row.8))
        }
        return result
    }

    public func get(device: String) async throws -> Session? {
        try await sessions(try await client.query("SELECT \(unescaped: Self.columns) FROM live_sessions WHERE device = \(device)",
                                                  logger: logger)).first
    }

    public func all() async throws -> [Session] {
        try await sessions(try await client.query("SELECT \(unescaped: Self.columns) FROM live_sessions ORDER BY device", logger: logger))
    }

    /// Records a session; false when the device already has one (another request won).
    /// `srtpKey` is the key of the agent's stream straight to the mountpoint, kept so that a
    /// recorder can take that stream over with it (nil for a session fed by a recorder's relay).
    public func insert(_ session: Session, srtpKey: String? = nil) async throws -> Bool {
        var inserted = false
        for try await _ in try await client.query(
            """
            INSERT INTO live_sessions (device, mountpoint, rtp_port, rtcp_port, start_command, started_by, media_host, srtp_key)
            VALUES (\(session.device), \(Int32(session.mountpoint)), \(Int32(session.rtpPort)), \(Int32(session.rtcpPort)),
                    \(session.startCommand), \(session.startedBy), \(session.mediaHost), \(srtpKey))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger).decode(Int32.self)
        {
            inserted = true
        }
        return inserted
    }

    /// The `stop_stream` a teardown queues when the agent streams to the mountpoint itself.
    public struct StopRequest: Sendable {
        /// The mountpoint's address for a session from before `media_host` was kept.
        public var fallbackHost: String
        public var ttlSeconds: Int
        /// Who the command names as its creator (`commands.created_by`).
        public var actor: String

        public init(fallbackHost: String, ttlSeconds: Int, actor: String) {
            self.fallbackHost = fallbackHost
            self.ttlSeconds = ttlSeconds
            self.actor = actor
        }
    }

    /// A session's row as its delete returned it.
    public struct Ended: Sendable, Equatable {
        public var startCommand: String
        public var mediaHost: String?
        public var rtpPort: Int
        public var rtcpPort: Int
        /// The id of the `stop_stream` queued with the delete; nil when none was (a relay-fed
        /// session, or a decommissioned device).
        public var stopCommand: String?
    }

    /// Ends the device's session if it is still `mountpoint`, in one statement: deletes the row,
    /// stores why it ended as the device's `stream_state` event (`{"state": "live_ended",
    /// "reason", "mountpoint"}`, shown on the console's timeline), and, when the row as deleted
    /// says the agent streams to the mountpoint itself (`start_command` other than
    /// `recording`), queues `stop_stream` addressed to it (``LivePlan/stopArguments(host:rtpPort:)``).
    /// The command queue then publishes it and retries until it is sent or expires; if the
    /// statement fails, the row stays and the next teardown tries again. Acting on the deleted
    /// row, not on a caller's earlier read, means a recorder's takeover (or hand-back) between
    /// the two cannot make a teardown skip the stop or send it to a stream it no longer owns.
    /// Nil when the row was already gone (another teardown won).
    public func end(device: String, mountpoint: Int, reason: String, stop: StopRequest) async throws -> Ended? {
        let commandID = "cmd-" + SecretToken.generate(bytes: 12)
        for try await row in try await client.query(
            """
            WITH gone AS (
                DELETE FROM live_sessions WHERE device = \(device) AND mountpoint = \(Int32(mountpoint))
                RETURNING device, start_command, media_host, rtp_port, rtcp_port
            ), event AS (
                INSERT INTO device_events (device, ts, kind, data)
                SELECT device, now(), 'stream_state',
                       jsonb_build_object('state', 'live_ended', 'reason', \(reason)::text, 'mountpoint', \(Int32(mountpoint)))
                FROM gone
            ), stop AS (
                INSERT INTO commands (id, device, name, args, created_by, expires_at)
                SELECT \(commandID), g.device, 'stop_stream',
                       jsonb_build_object('host', coalesce(g.media_host, \(stop.fallbackHost)::text), 'rtpPort', g.rtp_port),
                       \(stop.actor), now() + make_interval(secs => \(stop.ttlSeconds))
                FROM gone g JOIN devices d ON d.id = g.device AND d.decommissioned_at IS NULL
                WHERE g.start_command <> \(Self.fromRecording)
                RETURNING id
            )
            SELECT start_command, media_host, rtp_port, rtcp_port, (SELECT id FROM stop) FROM gone
            """,
            logger: logger).decode((String, String?, Int32, Int32, String?).self)
        {
            return Ended(startCommand: row.0, mediaHost: row.1, rtpPort: Int(row.2), rtcpPort: Int(row.3), stopCommand: row.4)
        }
        return nil
    }

    /// Records how many browsers watch now (copied into the device's `stream_stats` events as
    /// `viewers` while live) and, when any, that a viewer was seen.
    public func recordViewers(device: String, count: Int) async throws {
        try await client.query(
            """
            UPDATE live_sessions SET viewers = \(Int32(clamping: count)),
                last_viewer_at = CASE WHEN \(Int32(clamping: count)) > 0 THEN now() ELSE last_viewer_at END
            WHERE device = \(device)
            """, logger: logger)
    }
}
