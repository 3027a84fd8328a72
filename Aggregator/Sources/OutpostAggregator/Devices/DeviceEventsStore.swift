import Logging
import OutpostWire
import PostgresNIO

/// The `device_events` table: presence stores what devices send; the console's timeline
/// reads it (`API/DeviceEvents/DeviceEventsStore+Page.swift`).
public struct DeviceEventsStore: Sendable {
    let client: PostgresPool
    let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Stores events in one statement; returns the devices whose events were accepted. A camera's
    /// `stream_stats` object gets `viewers` while it is live through Janus (the agent cannot know them).
    public func insert(_ events: [DeviceEvent]) async throws -> Set<DeviceID> {
        guard !events.isEmpty else { return [] }
        let data = events.map { JSONText.encode($0.data) }
        let devices = events.map(\.device.rawValue), ts = events.map(\.ts), kinds = events.map(\.kind)
        let query: PostgresQuery = """
            WITH ins AS (
                INSERT INTO device_events (device, ts, kind, data)
                SELECT e.device, timestamptz 'epoch' + e.ts_ms * interval '1 millisecond', e.kind,
                       CASE WHEN e.kind = 'stream_stats' AND l.viewers IS NOT NULL AND jsonb_typeof(e.data::jsonb) = 'object'
                            THEN e.data::jsonb || jsonb_build_object('viewers', l.viewers) ELSE e.data::jsonb END
                FROM unnest(\(devices)::text[], \(ts)::int8[], \(kinds)::text[], \(data)::text[]) AS e(device, ts_ms, kind, data)
                JOIN devices d ON d.id = e.device AND d.revoked_at IS NULL
                LEFT JOIN live_sessions l ON l.device = e.device
                RETURNING device
            )
            SELECT coalesce(array_agg(DISTINCT device), '{}'::text[]) FROM ins
            """
        var accepted: Set<DeviceID> = []
        for try await ids in try await client.query(query, logger: logger).decode([String].self) {
            accepted = Set(ids.compactMap(DeviceID.init))
        }
        return accepted
    }

    /// Retention: deletes the events before `day` (`YYYY-MM-DD`, UTC), with the readings partitions it drops.
    func deleteBefore(day: String) async throws {
        try await client.query("DELETE FROM device_events WHERE ts < \(day)::date::timestamp AT TIME ZONE 'UTC'", logger: logger, within: nil)
    }
}
