import Foundation
import Logging
import PostgresNIO

/// The `recordings`, `recording_settings` and `recording_claims` tables.
public struct RecordingsStore: Sendable {
    public struct Recording: Sendable, Equatable {
        public var id: Int64
        public var device: String
        public var startedAt: Date
        public var endedAt: Date
        public var durationMs: Int
        public var bytes: Int64
        public var path: String
        public var thumbnailPath: String?
        public var codec: String
        public var width: Int
        public var height: Int
        public var state: String
    }

    /// A camera's recording mode and limits.
    public struct DeviceSetting: Sendable, Equatable {
        public var device: String
        public var mode: String
        public var until: Date?
        public var quotaBytes: Int64?
        public var maxAgeDays: Int?
        public var updatedAt: Date
        public var updatedBy: String
    }

    let client: PostgresPool
    let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "id, device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state"
    typealias Row = (Int64, String, Date, Date, Int32, Int64, String, String?, String, Int32, Int32, String)

    private func recordings(_ rows: PostgresRowSequence) async throws -> [Recording] {
        var result: [Recording] = []
        for try await row in rows.decode(Row.self) {
            result.append(Recording(id: row.0, device: row.1, startedAt: row.2, endedAt: row.3, durationMs: Int(row.4), bytes: row.5, path: row.6,
                                    thumbnailPath: row.7, codec: row.8, width: Int(row.9), height: Int(row.10), state: row.11))
        }
        return result
    }

    /// Online cameras whose mode asks for recording now.
    func wantedDevices() async throws -> [String] {
        var devices: [String] = []
        for try await device in try await client.query(
            """
            SELECT s.device FROM recording_settings s JOIN devices d ON d.id = s.device
            WHERE d.kind = 'camera' AND d.status = 'online' AND d.decommissioned_at IS NULL
              AND (s.mode = 'continuous' OR (s.mode = 'on_demand' AND s.until > now()))
            ORDER BY s.device
            """, logger: logger).decode(String.self)
        {
            devices.append(device)
        }
        return devices
    }

    /// Takes or renews this aggregator's claim on recording `device`; false while another
    /// aggregator's claim is fresher than `staleAfter` seconds.
    func claim(device: String, owner: String, staleAfter: Int) async throws -> Bool {
        var claimed = false
        for try await _ in try await client.query(
            """
            INSERT INTO recording_claims (device, owner) VALUES (\(device), \(owner))
            ON CONFLICT (device) DO UPDATE SET owner = EXCLUDED.owner, heartbeat_at = now()
            WHERE recording_claims.owner = EXCLUDED.owner
               OR recording_claims.heartbeat_at < now() - make_interval(secs => \(staleAfter))
            RETURNING 1
            """, logger: logger).decode(Int32.self)
        {
            claimed = true
        }
        return claimed
    }

    func release(device: String, owner: String) async throws {
        try await client.query("DELETE FROM recording_claims WHERE device = \(device) AND owner = \(owner)", logger: logger)
    }

    /// Inserts the row of a segment the engine has just opened, as `recording` (no duration
    /// or size yet); nil when the path is known.
    @discardableResult
    func insertRecording(device: String, startedAt: Date, path: String) async throws -> Int64? {
        var id: Int64?
        for try await row in try await client.query(
            """
            INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, state)
            VALUES (\(device), \(startedAt), \(startedAt), 0, 0, \(path), 'recording')
            ON CONFLICT (path) DO NOTHING RETURNING id
            """, logger: logger).decode(Int64.self)
        {
            id = row
        }
        return id
    }

    /// Makes a closed segment's row `complete` (its file is already fsynced): updates its
    /// `recording` row, or inserts one for a segment never seen open; nil when the path
    /// already has a row in another state.
    @discardableResult
    func insertComplete(device: String, endedAt: Date, probe: MediaTools.Probe, bytes: Int64, path: String, thumbnailPath: String?)
        async throws -> Int64?
    {
        let startedAt = endedAt.addingTimeInterval(-Double(probe.durationMs) / 1_000)
        var id: Int64?
        for try await row in try await client.query(
            """
            INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state)
            VALUES (\(device), \(startedAt), \(endedAt), \(Int32(clamping: probe.durationMs)), \(bytes), \(path), \(thumbnailPath),
                    \(probe.codec), \(Int32(clamping: probe.width)), \(Int32(clamping: probe.height)), 'complete')
            ON CONFLICT (path) DO UPDATE SET started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                duration_ms = EXCLUDED.duration_ms, bytes = EXCLUDED.bytes, thumbnail_path = EXCLUDED.thumbnail_path,
                codec = EXCLUDED.codec, width = EXCLUDED.width, height = EXCLUDED.height, state = 'complete'
            WHERE recordings.state = 'recording'
            RETURNING id
            """, logger: logger).decode(Int64.self)
        {
            id = row
        }
        return id
    }

    /// A `recording` row whose segment turned out unplayable: `deleted` with reason `partial`.
    func markPartial(path: String) async throws {
        try await client.query(
            """
            UPDATE recordings SET state = 'deleted', deleted_reason = 'partial', deleted_at = now()
            WHERE path = \(path) AND state = 'recording'
            """, logger: logger)
    }

    /// A `recording` row whose file is gone: `missing`.
    func markRecordingMissing(id: Int64) async throws {
        try await client.query("UPDATE recordings SET state = 'missing' WHERE id = \(id) AND state = 'recording'", logger: logger)
    }

    /// Rows left `recording` by an engine or aggregator that is gone: not of `except` (the
    /// cameras this aggregator records now) nor of a camera another aggregator's fresh claim
    /// (renewed within `staleAfter` seconds) records.
    func abandoned(owner: String, except: Set<String>, staleAfter: Int) async throws -> [Recording] {
        try await recordings(try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM recordings r
            WHERE r.state = 'recording' AND NOT (r.device = ANY(\(Array(except))))
              AND NOT EXISTS (SELECT 1 FROM recording_claims c WHERE c.device = r.device AND c.owner <> \(owner)
                              AND c.heartbeat_at > now() - make_interval(secs => \(staleAfter)))
            ORDER BY r.started_at, r.id
            """, logger: logger))
    }

    /// The state of each of `paths` that has a row.
    func states(paths: [String]) async throws -> [String: String] {
        var states: [String: String] = [:]
        for try await (path, state) in try await client.query("SELECT path, state FROM recordings WHERE path = ANY(\(paths))", logger: logger)
            .decode((String, String).self)
        {
            states[path] = state
        }
        return states
    }

    /// Every row whose file should be on disk (complete or recording).
    func present() async throws -> [Recording] {
        try await recordings(try await client.query(
            "SELECT \(unescaped: Self.columns) FROM recordings WHERE state IN ('complete', 'recording') ORDER BY started_at, id",
            logger: logger))
    }

    /// Every path a row names, whatever its state (a deleted row's path is not an orphan to adopt).
    func knownPaths() async throws -> Set<String> {
        var paths = Set<String>()
        for try await path in try await client.query("SELECT path FROM recordings", logger: logger).decode(String.self) {
            paths.insert(path)
        }
        return paths
    }

    /// Marks a present row deleted with `reason`; returns it when this call did (so its files go once).
    func markDeleted(id: Int64, reason: String) async throws -> Recording? {
        try await recordings(try await client.query(
            """
            UPDATE recordings SET state = 'deleted', deleted_reason = \(reason), deleted_at = now()
            WHERE id = \(id) AND state IN ('complete', 'recording', 'missing') RETURNING \(unescaped: Self.columns)
            """, logger: logger)).first
    }

    func markMissing(id: Int64) async throws {
        try await client.query("UPDATE recordings SET state = 'missing' WHERE id = \(id) AND state = 'complete'", logger: logger)
    }

    func get(id: Int64) async throws -> Recording? {
        try await recordings(try await client.query("SELECT \(unescaped: Self.columns) FROM recordings WHERE id = \(id)", logger: logger)).first
    }

    /// A device's segments (not deleted) starting in `[from, to)`, oldest first, after `after`.
    func list(device: String, from: Date?, to: Date?, after: Position?, limit: Int) async throws -> [(Recording, Position)] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns), (extract(epoch FROM started_at) * 1000000)::bigint FROM recordings
            WHERE device = \(device) AND state <> 'deleted'
              AND (\(from)::timestamptz IS NULL OR started_at >= \(from)::timestamptz)
              AND (\(to)::timestamptz IS NULL OR started_at < \(to)::timestamptz)
              AND (\(after?.t)::bigint IS NULL
                   OR (started_at, id) > ('epoch'::timestamptz + \(after?.t)::bigint * interval '1 microsecond', \(after?.i)::bigint))
            ORDER BY started_at, id LIMIT \(limit)
            """, logger: logger)
        var result: [(Recording, Position)] = []
        for try await row in rows.decode((Int64, String, Date, Date, Int32, Int64, String, String?, String, Int32, Int32, String, Int64).self) {
            let recording = Recording(id: row.0, device: row.1, startedAt: row.2, endedAt: row.3, durationMs: Int(row.4), bytes: row.5, path: row.6,
                                      thumbnailPath: row.7, codec: row.8, width: Int(row.9), height: Int(row.10), state: row.11)
            result.append((recording, Position(t: row.12, i: row.0)))
        }
        return result
    }

    /// The ids of a device's present segments starting in `[from, to)`.
    func ids(device: String, from: Date, to: Date) async throws -> [Int64] {
        var ids: [Int64] = []
        for try await id in try await client.query(
            """
            SELECT id FROM recordings WHERE device = \(device) AND state IN ('complete', 'missing')
              AND started_at >= \(from) AND started_at < \(to) ORDER BY started_at, id
            """, logger: logger).decode(Int64.self)
        {
            ids.append(id)
        }
        return ids
    }

    /// `^-?[0-9]{1,16}\.[0-9]{1,18}$`: the segment's start in microseconds and its id.
    struct Position: Sendable, Equatable, CursorKey {
        let t: Int64
        let i: Int64

        var cursorText: String { "\(t).\(i)" }

        init(t: Int64, i: Int64) {
            self.t = t
            self.i = i
        }

        init?(cursorText text: Substring) {
            let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let t = Cursor.integer(parts[0], digits: 16, signed: true),
                  let i = Cursor.integer(parts[1], digits: 18, signed: false)
            else { return nil }
            self.init(t: t, i: i)
        }
    }

    func setting(device: String) async throws -> DeviceSetting? {
        try await settings(try await client.query(
            "SELECT device, mode, until, quota_bytes, max_age_days, updated_at, updated_by FROM recording_settings WHERE device = \(device)",
            logger: logger)).first
    }

    func allSettings() async throws -> [DeviceSetting] {
        try await settings(try await client.query(
            "SELECT device, mode, until, quota_bytes, max_age_days, updated_at, updated_by FROM recording_settings", logger: logger))
    }

    private func settings(_ rows: PostgresRowSequence) async throws -> [DeviceSetting] {
        var result: [DeviceSetting] = []
        for try await row in rows.decode((String, String, Date?, Int64?, Int32?, Date, String).self) {
            result.append(DeviceSetting(device: row.0, mode: row.1, until: row.2, quotaBytes: row.3, maxAgeDays: row.4.map(Int.init),
                                        updatedAt: row.5, updatedBy: row.6))
        }
        return result
    }

    func putSetting(device: String, mode: String, until: Date?, quotaBytes: Int64?, maxAgeDays: Int?, by actor: String) async throws
        -> DeviceSetting?
    {
        try await settings(try await client.query(
            """
            INSERT INTO recording_settings (device, mode, until, quota_bytes, max_age_days, updated_by)
            VALUES (\(device), \(mode), \(until), \(quotaBytes), \(maxAgeDays.map { Int32($0) }), \(actor))
            ON CONFLICT (device) DO UPDATE SET mode = EXCLUDED.mode, until = EXCLUDED.until, quota_bytes = EXCLUDED.quota_bytes,
                max_age_days = EXCLUDED.max_age_days, updated_at = now(), updated_by = EXCLUDED.updated_by
            RETURNING device, mode, until, quota_bytes, max_age_days, updated_at, updated_by
            """, logger: logger)).first
    }

    /// The bytes of the complete segments by camera: one aggregate row per camera.
    func usage() async throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for try await row in try await client.query(
            "SELECT device, coalesce(sum(bytes), 0)::bigint FROM recordings WHERE state = 'complete' GROUP BY device", logger: logger
        ).decode((String, Int64).self) {
            result[row.0] = row.1
        }
        return result
    }

    /// The `limit` oldest complete segments, overall or of one camera (index-ordered reads).
    func oldest(device: String?, limit: Int) async throws -> [RetentionPlan.Segment] {
        var result: [RetentionPlan.Segment] = []
        for try await row in try await client.query(
            """
            SELECT id, device, started_at, bytes FROM recordings
            WHERE state = 'complete' AND (\(device)::text IS NULL OR device = \(device)::text)
            ORDER BY started_at, id LIMIT \(limit)
            """, logger: logger).decode((Int64, String, Date, Int64).self)
        {
            result.append(RetentionPlan.Segment(id: row.0, device: row.1, startedAt: row.2, bytes: row.3))
        }
        return result
    }

    /// Totals over present segments: bytes, count and the oldest start, overall or for one device.
    func totals(device: String?) async throws -> (bytes: Int64, segments: Int64, oldest: Date?) {
        for try await row in try await client.query(
            """
            SELECT coalesce(sum(bytes), 0)::bigint, count(*), min(started_at) FROM recordings
            WHERE state = 'complete' AND (\(device)::text IS NULL OR device = \(device)::text)
            """, logger: logger).decode((Int64, Int64, Date?).self)
        {
            return (row.0, row.1, row.2)
        }
        return (0, 0, nil)
    }

    /// Deleted segments by reason, overall or for one device.
    func deletions(device: String?) async throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for try await row in try await client.query(
            """
            SELECT deleted_reason, count(*) FROM recordings
            WHERE state = 'deleted' AND (\(device)::text IS NULL OR device = \(device)::text) GROUP BY deleted_reason
            """, logger: logger).decode((String?, Int64).self)
        {
            result[row.0 ?? "unknown", default: 0] += row.1
        }
        return result
    }
}
