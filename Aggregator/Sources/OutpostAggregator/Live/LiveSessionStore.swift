import Foundation
import Logging
import PostgresNIO

/// The `live_sessions` table: which camera has a mountpoint, on which ports, since when,
/// and when it last had a viewer.
public struct LiveSessionStore: Sendable {
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

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
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

    /// Removes the device's session if it is still `mountpoint`, and stores why it ended as the
    /// device's `stream_state` event (`{"state": "live_ended", "reason", "mountpoint"}`), which the
    /// console's timeline shows; returns whether it did.
    @discardableResult
    public func delete(device: String, mountpoint: Int, reason: String) async throws -> Bool {
        var deleted = false
        for try await _ in try await client.query(
            """
            WITH gone AS (
                DELETE FROM live_sessions WHERE device = \(device) AND mountpoint = \(Int32(mountpoint)) RETURNING device
            ), event AS (
                INSERT INTO device_events (device, ts, kind, data)
                SELECT device, now(), 'stream_state',
                       jsonb_build_object('state', 'live_ended', 'reason', \(reason)::text, 'mountpoint', \(Int32(mountpoint)))
                FROM gone
            )
            SELECT 1 FROM gone
            """,
            logger: logger).decode(Int32.self)
        {
            deleted = true
        }
        return deleted
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

    /// Whether the device's presence says offline (a device not yet heard from is not).
    public func isOffline(device: String) async throws -> Bool {
        var offline = false
        for try await status in try await client.query("SELECT status FROM devices WHERE id = \(device)", logger: logger)
            .decode(String?.self)
        {
            offline = status == "offline"
        }
        return offline
    }
}
