import Logging
import OutpostWire
import PostgresNIO

/// The `devices` table, with `device_status_changes` that presence writes beside it. The admin API's view of it is in `API/Devices/DevicesStore+Catalog.swift`.
///
/// Every presence write touches only devices that exist and are not revoked; what it reports
/// back tells the caller which messages to count as refused.
public struct DevicesStore: Sendable {
    let client: PostgresPool
    let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies state messages in their order, in one statement (`outpost_apply_states`,
    /// migrations 0160 and 0162), skipping any received before the state its device shows;
    /// returns the positions in `observations` of those refused because their device is
    /// unknown or revoked.
    public func apply(_ observations: [StateObservation]) async throws -> [Int] {
        guard !observations.isEmpty else { return [] }
        let states = observations.map(\.state)
        let ids = states.map(\.device.rawValue), statuses = states.map(\.status.rawValue)
        let transition = observations.map { $0.transitionTimeMs ?? -1 }, received = observations.map(\.receivedAtMs)
        let live = observations.map { !$0.retained }
        let hasVersion = states.map { $0.version != nil }, versions = states.map { $0.version ?? "" }
        let depths = states.map { $0.bufferDepth ?? -1 }, dropped = states.map { $0.dropped ?? -1 }
        let serials = states.map { $0.certSerial ?? "" }, notAfter = states.map { $0.certNotAfter ?? -1 }
        let query: PostgresQuery = """
            SELECT outpost_apply_states(\(ids)::text[], \(statuses)::text[], \(transition)::int8[], \(received)::int8[],
                \(live)::bool[], \(hasVersion)::bool[], \(versions)::text[], \(depths)::int8[], \(dropped)::int8[],
                \(serials)::text[], \(notAfter)::int8[])
            """
        var refused: [Int] = []
        for try await ordinals in try await client.query(query, logger: logger).decode([Int32].self) {
            refused = ordinals.map { Int($0) - 1 }
        }
        return refused
    }

    /// Writes last-seen times in one statement. A device marked offline by silence, or
    /// never seen before, comes back online (cause `activity`) at the first time it was heard.
    public func recordSeen(_ seen: [DeviceID: SeenWindow]) async throws {
        guard !seen.isEmpty else { return }
        let sorted = seen.sorted { $0.key < $1.key }
        let ids = sorted.map(\.key.rawValue), first = sorted.map(\.value.firstMs), last = sorted.map(\.value.lastMs)
        let query: PostgresQuery = """
            WITH v AS (
                SELECT * FROM unnest(\(ids)::text[], \(first)::int8[], \(last)::int8[]) AS v(id, first_ms, last_ms)
            ), locked AS (
                SELECT d.id, d.status, d.status_cause FROM devices d JOIN v ON v.id = d.id
                WHERE d.revoked_at IS NULL ORDER BY d.id FOR UPDATE OF d
            ), changed AS (
                UPDATE devices d SET
                    last_seen = greatest(d.last_seen, timestamptz 'epoch' + v.last_ms * interval '1 millisecond'),
                    status = CASE WHEN l.status = 'unknown' OR (l.status = 'offline' AND l.status_cause IN ('silence', 'revoked'))
                        THEN 'online' ELSE d.status END,
                    status_changed_at = CASE WHEN l.status = 'unknown' OR (l.status = 'offline' AND l.status_cause IN ('silence', 'revoked'))
                        THEN timestamptz 'epoch' + v.first_ms * interval '1 millisecond' ELSE d.status_changed_at END,
                    status_cause = CASE WHEN l.status = 'unknown' OR (l.status = 'offline' AND l.status_cause IN ('silence', 'revoked'))
                        THEN 'activity' ELSE d.status_cause END
                FROM v, locked l WHERE d.id = v.id AND l.id = d.id
                RETURNING d.id, d.status_changed_at, l.status IS DISTINCT FROM d.status AS transitioned
            )
            INSERT INTO device_status_changes (device, status, changed_at, cause)
            SELECT id, 'online', status_changed_at, 'activity' FROM changed WHERE transitioned
            """
        try await client.query(query, logger: logger)
    }

    /// Marks online devices silent for longer than `seconds` offline, dated at their
    /// last contact; returns how many. A state received before the sweep and written after it
    /// (a held batch) is then ignored (`state_received_at`, migration 0162).
    public func markSilent(olderThanSeconds seconds: Int) async throws -> Int {
        let query: PostgresQuery = """
            WITH gone AS (
                UPDATE devices SET status = 'offline', status_cause = 'silence',
                    status_changed_at = coalesce(last_seen, status_changed_at, now()),
                    state_received_at = greatest(state_received_at, now())
                WHERE status = 'online' AND revoked_at IS NULL
                  AND coalesce(last_seen, status_changed_at, created_at) < now() - \(seconds)::int8 * interval '1 second'
                RETURNING id, status_changed_at
            ), history AS (
                INSERT INTO device_status_changes (device, status, changed_at, cause)
                SELECT id, 'offline', status_changed_at, 'silence' FROM gone
            )
            SELECT count(*) FROM gone
            """
        var count = 0
        for try await gone in try await client.query(query, logger: logger).decode(Int64.self) { count = Int(gone) }
        return count
    }

    /// The fleet by kind and status (`revoked` apart from the presence statuses), with the
    /// buffer depth and drops the devices last reported, summed.
    public func fleet() async throws -> [FleetGroup] {
        let query: PostgresQuery = """
            SELECT kind, CASE WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE status END AS state,
                   count(*), coalesce(sum(buffer_depth), 0)::int8, coalesce(sum(dropped), 0)::int8
            FROM devices GROUP BY 1, 2
            """
        var groups: [FleetGroup] = []
        for try await (kind, status, count, depth, dropped) in try await client.query(query, logger: logger)
            .decode((String, String, Int64, Int64, Int64).self)
        {
            groups.append(FleetGroup(kind: kind, status: status, devices: Int(count), bufferDepth: Int(depth), dropped: Int(dropped)))
        }
        return groups
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

    /// The broker override of `device`: nil when no such device row exists, `.some(nil)` when it has none.
    public func brokerOverride(of device: String) async throws -> String?? {
        let rows = try await client.query("SELECT broker_override FROM devices WHERE id = \(device)", logger: logger)
        for try await override in rows.decode(String?.self) {
            return .some(override)
        }
        return nil
    }

    /// Sets (or with nil clears) the broker override of `device`; returns the stored override,
    /// nil when no such device row exists.
    public func setBrokerOverride(_ broker: String?, for device: String) async throws -> String?? {
        let rows = try await client.query(
            "UPDATE devices SET broker_override = \(broker) WHERE id = \(device) RETURNING broker_override", logger: logger)
        for try await override in rows.decode(String?.self) {
            return .some(override)
        }
        return nil
    }
}

/// Statements on `devices` that run inside another store's transaction.
extension DevicesStore {
    /// Creates the device row if new; a known device gets `kind` again.
    static func register(_ device: String, kind: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO devices (id, kind) VALUES (\(device), \(kind))
            ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind
            """, logger: logger)
    }

    /// Creates the device rows that are new; known devices get `kind` again.
    static func register(_ devices: [String], kind: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO devices (id, kind) SELECT unnest(\(devices)::text[]), \(kind)
            ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind
            """, logger: logger)
    }

    /// Clears the device's revocation (a new certificate was issued to it).
    static func clearRevocation(of device: String?, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE devices SET revoked_at = NULL WHERE id = \(device)", logger: logger)
    }

    /// Marks the device revoked and, if online, offline at once: a revoked device cannot be
    /// online, and the silence sweep skips it. A state received before the revocation is
    /// ignored even once it is cleared (`state_received_at`, migration 0162). False for an
    /// unknown device (nothing written).
    static func revoke(_ device: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var known = false
        for try await _ in try await connection.query(
            """
            UPDATE devices SET revoked_at = coalesce(revoked_at, now()), state_received_at = greatest(state_received_at, now())
            WHERE id = \(device) RETURNING id
            """, logger: logger)
        {
            known = true
        }
        guard known else { return false }
        try await connection.query(
            """
            WITH gone AS (
                UPDATE devices SET status = 'offline', status_cause = 'revoked', status_changed_at = now()
                WHERE id = \(device) AND status = 'online' RETURNING id, status_changed_at
            )
            INSERT INTO device_status_changes (device, status, changed_at, cause)
            SELECT id, 'offline', status_changed_at, 'revoked' FROM gone
            """, logger: logger)
        return true
    }

    /// Whether the device is revoked, its row locked `FOR SHARE` until the transaction ends;
    /// nil for an unknown device.
    static func isRevoked(_ device: DeviceID, on connection: PostgresConnection, logger: Logger) async throws -> Bool? {
        var revoked: Bool? = nil
        for try await isRevoked in try await connection.query(
            "SELECT revoked_at IS NOT NULL FROM devices WHERE id = \(device.rawValue) FOR SHARE", logger: logger).decode(Bool.self)
        {
            revoked = isRevoked
        }
        return revoked
    }
}
