import Foundation
import Logging
import OutpostSupport
import OutpostWire
import PostgresNIO

/// Devices as the admin API sees them.
extension DevicesStore {
    public struct Device: Codable, Sendable, Equatable {
        public let id: String
        public let kind: String
        public let name: String?
        public let tags: [String]
        public let metadata: JSONValue
        public let status: String
        public let statusChangedAt: Date?
        public let lastSeen: Date?
        public let version: String?
        public let bufferDepth: Int64?
        public let dropped: Int64?
        public let createdAt: Date
        public let revokedAt: Date?
        public let decommissionedAt: Date?
        /// When the newest unrevoked certificate expires; nil when the device has none.
        public let certificateExpiresAt: Date?
        /// Serial of the certificate the device's agent last reported connecting with (`state`).
        public let certificateInUse: String?
        /// That certificate's `notAfter`, as the agent reported it.
        public let certificateInUseExpiresAt: Date?

        /// Absent values are written as `null`, so every documented field is always present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(id, forKey: AnyKey(stringValue: "id"))
            try container.encode(kind, forKey: AnyKey(stringValue: "kind"))
            try container.encode(name, forKey: AnyKey(stringValue: "name"))
            try container.encode(tags, forKey: AnyKey(stringValue: "tags"))
            try container.encode(metadata, forKey: AnyKey(stringValue: "metadata"))
            try container.encode(status, forKey: AnyKey(stringValue: "status"))
            try container.encode(statusChangedAt, forKey: AnyKey(stringValue: "statusChangedAt"))
            try container.encode(lastSeen, forKey: AnyKey(stringValue: "lastSeen"))
            try container.encode(version, forKey: AnyKey(stringValue: "version"))
            try container.encode(bufferDepth, forKey: AnyKey(stringValue: "bufferDepth"))
            try container.encode(dropped, forKey: AnyKey(stringValue: "dropped"))
            try container.encode(createdAt, forKey: AnyKey(stringValue: "createdAt"))
            try container.encode(revokedAt, forKey: AnyKey(stringValue: "revokedAt"))
            try container.encode(decommissionedAt, forKey: AnyKey(stringValue: "decommissionedAt"))
            try container.encode(certificateExpiresAt, forKey: AnyKey(stringValue: "certificateExpiresAt"))
            try container.encode(certificateInUse, forKey: AnyKey(stringValue: "certificateInUse"))
            try container.encode(certificateInUseExpiresAt, forKey: AnyKey(stringValue: "certificateInUseExpiresAt"))
        }
    }

    public struct Filter: Sendable, Equatable {
        public var kind: String?
        public var status: String?
        public var tag: String?
        public var search: String?
        public var after: String?
        public var limit: Int
    }

    /// The fields a patch may change; nil leaves a field alone.
    public struct Patch: Sendable, Equatable {
        public var name: String??
        public var tags: [String]?
        public var metadata: JSONValue?

        public var changedFields: [String] {
            [name != nil ? "name" : nil, tags != nil ? "tags" : nil, metadata != nil ? "metadata" : nil].compactMap { $0 }
        }
    }

    static let kinds: Set<String> = ["meter", "camera"]
    static let statuses: Set<String> = ["unknown", "online", "offline", "revoked", "decommissioned"]
    static let columns = """
        id, kind, name, tags, metadata::text, status, status_changed_at, last_seen, version, buffer_depth, dropped,
        created_at, revoked_at, decommissioned_at,
        (SELECT max(not_after) FROM certificates c WHERE c.device_id = devices.id AND c.revoked_at IS NULL),
        cert_serial, cert_not_after
        """

    /// A page of devices. The unfiltered page (the fleet paged through by id) runs prepared on
    /// each pooled connection: parsing and planning it on every request was more than half of
    /// PostgreSQL's cost (`pgbench` on this SQL: 0.69 ms of its CPU a query unprepared, 0.30 ms
    /// prepared). A filtered page runs the same SQL unprepared, so PostgreSQL plans it for its
    /// values: a generic plan could not use the tag or status index for a rare tag or status.
    public func list(_ filter: Filter) async throws -> [Device] {
        let statement = ListStatement(filter)
        guard statement.isUnfiltered else {
            let rows = try await client.query(PostgresQuery(unsafeSQL: ListStatement.sql, binds: statement.makeBindings()), logger: logger)
            return try await Self.devices(rows)
        }
        return try await client.execute(statement, logger: logger)
    }

    /// `GET /devices`'s SQL. Each filter is a parameter that may be NULL, so one statement serves
    /// every combination. Under a generic plan (PostgreSQL's choice for a prepared statement after
    /// five executions) a predicate on a NULL-able parameter is no longer folded away, so the page
    /// cursor is written as `id > coalesce($7, '')`: an index condition in any plan (no id is
    /// empty), so a deep page starts at its cursor, not at the first id.
    struct ListStatement: PostgresPreparedStatement {
        static let name = "outpost_devices_list"
        static let sql = """
            SELECT \(DevicesStore.columns) FROM devices
            WHERE ($1::text IS NULL OR kind = $1::text)
              AND ($2::text IS NULL OR (status = $2::text AND decommissioned_at IS NULL AND revoked_at IS NULL))
              AND (NOT $3::bool OR decommissioned_at IS NOT NULL)
              AND (NOT $4::bool OR (revoked_at IS NOT NULL AND decommissioned_at IS NULL))
              AND ($5::text IS NULL OR tags @> ARRAY[$5::text])
              AND ($6::text IS NULL OR id ILIKE $6::text OR name ILIKE $6::text)
              AND id > coalesce($7::text, '')
            ORDER BY id LIMIT $8::bigint
            """
        typealias Row = Device

        let filter: Filter

        init(_ filter: Filter) { self.filter = filter }

        /// Only a cursor and a limit: the page the prepared statement serves.
        var isUnfiltered: Bool { filter.kind == nil && filter.status == nil && filter.tag == nil && filter.search == nil }

        func makeBindings() -> PostgresBindings {
            let live = filter.status == "decommissioned" || filter.status == "revoked" ? nil : filter.status
            var bindings = PostgresBindings(capacity: 8)
            bindings.append(filter.kind)
            bindings.append(live)
            bindings.append(filter.status == "decommissioned")
            bindings.append(filter.status == "revoked")
            bindings.append(filter.tag)
            bindings.append(filter.search.map { "%" + DevicesStore.escapeLike($0) + "%" })
            bindings.append(filter.after)
            bindings.append(Int64(filter.limit))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Device { try DevicesStore.device(row) }
    }

    /// `GET /device-counts`: the fleet by status, counted as the list's `status` filter selects.
    public struct StatusCounts: Encodable, Sendable, Equatable {
        public var total = 0
        public var online = 0
        public var offline = 0
        public var unknown = 0
        public var revoked = 0
        public var decommissioned = 0
    }

    /// One aggregate over `devices`, so that counting a fleet costs one query, not a walk
    /// through its pages. A decommissioned device counts as `decommissioned`, a revoked one as
    /// `revoked`, any other by its last reported status.
    public func statusCounts() async throws -> StatusCounts {
        let rows = try await client.query(
            """
            SELECT CASE WHEN decommissioned_at IS NOT NULL THEN 'decommissioned'
                        WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE status END, count(*)
            FROM devices GROUP BY 1
            """, logger: logger)
        var counts = StatusCounts()
        for try await (status, count) in rows.decode((String, Int).self) {
            counts.total += count
            switch status {
            case "online": counts.online += count
            case "offline": counts.offline += count
            case "revoked": counts.revoked += count
            case "decommissioned": counts.decommissioned += count
            default: counts.unknown += count
            }
        }
        return counts
    }

    public func get(_ id: String) async throws -> Device? {
        guard DeviceID.isValid(id) else { return nil }
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM devices WHERE id = \(id)", logger: logger)
        return try await Self.devices(rows).first
    }

    /// Whether the device exists (decommissioned or not), without reading its columns.
    public func exists(_ id: String) async throws -> Bool {
        guard DeviceID.isValid(id) else { return false }
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM devices WHERE id = \(id))", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Applies a patch; nil when the device does not exist.
    public func apply(_ patch: Patch, to id: String, origin: AuditLog.Origin, audit: AuditLog) async throws -> Device? {
        guard DeviceID.isValid(id) else { return nil }
        let setName = patch.name != nil
        let name = patch.name ?? nil
        let metadata = try patch.metadata.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let rows = try await client.query(
            """
            UPDATE devices SET
              name = CASE WHEN \(setName) THEN \(name)::text ELSE name END,
              tags = coalesce(\(patch.tags)::text[], tags),
              metadata = coalesce(\(metadata)::jsonb, metadata)
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let device = try await Self.devices(rows).first else { return nil }
        try await audit.record("device.patch", target: "device:\(id)", detail: ["fields": patch.changedFields.joined(separator: ",")],
                               origin: origin)
        return device
    }

    /// Marks the device decommissioned and revoked, so ingest refuses its readings from
    /// then on; an earlier decommission keeps its time. False when the device does not exist.
    ///
    /// Its certificates are not touched here: the decommission route hands the device to
    /// ``Revocation`` next, the one code path that revokes (as `cert revoke` does).
    public func markDecommissioned(_ id: DeviceID) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE devices SET decommissioned_at = coalesce(decommissioned_at, now()), revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id.rawValue) RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    private static func devices(_ rows: PostgresRowSequence) async throws -> [Device] {
        var devices: [Device] = []
        for try await row in rows { devices.append(try device(row)) }
        return devices
    }

    /// One row of ``columns``, its cells read in order (``RowCells``).
    fileprivate static func device(_ row: PostgresRow) throws -> Device {
        var cells = RowCells(row)
        let id = try cells.next(String.self), kind = try cells.next(String.self), name = try cells.next(String?.self)
        let tags = try cells.next([String].self), metadata = try cells.next(String.self), status = try cells.next(String.self)
        let statusChangedAt = try cells.next(Date?.self), lastSeen = try cells.next(Date?.self), version = try cells.next(String?.self)
        let bufferDepth = try cells.next(Int64?.self), dropped = try cells.next(Int64?.self), createdAt = try cells.next(Date.self)
        let revoked = try cells.next(Date?.self), decommissioned = try cells.next(Date?.self)
        return Device(
            id: id,
            kind: kind,
            name: name,
            tags: tags,
            // `{}` (the column's default, most devices) without a decoder per row.
            metadata: metadata == "{}" ? .object([:]) : (try? JSONDecoder().decode(JSONValue.self, from: Data(metadata.utf8))) ?? .object([:]),
            status: decommissioned != nil ? "decommissioned" : revoked != nil ? "revoked" : status,
            statusChangedAt: statusChangedAt,
            lastSeen: lastSeen,
            version: version,
            bufferDepth: bufferDepth,
            dropped: dropped,
            createdAt: createdAt,
            revokedAt: revoked,
            decommissionedAt: decommissioned,
            certificateExpiresAt: try cells.next(),
            certificateInUse: try cells.next(),
            certificateInUseExpiresAt: try cells.next())
    }
}
