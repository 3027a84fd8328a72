import Foundation
import Logging
import OutpostSupport
import PostgresNIO

/// Who changed what, when, from where (`audit_log`, shared with ingest). Every change
/// through the API or the CLI writes one entry; admins list them with `GET /api/v1/audit`.
///
/// `actor` follows the table's convention: a user name, an API key id, or
/// `cli:{unix user}`; `details` adds `actorKind`, `sourceIp` and `requestId`.
public struct AuditLog: Sendable {
    /// One change.
    public struct Entry: Codable, Sendable, Equatable {
        public let id: Int64
        public let at: Date
        public let actor: String
        public let action: String
        public let target: String?
        public let details: JSONValue

        /// Absent values are written as `null`, so every documented field is always present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(id, forKey: AnyKey(stringValue: "id"))
            try container.encode(at, forKey: AnyKey(stringValue: "at"))
            try container.encode(actor, forKey: AnyKey(stringValue: "actor"))
            try container.encode(action, forKey: AnyKey(stringValue: "action"))
            try container.encode(target, forKey: AnyKey(stringValue: "target"))
            try container.encode(details, forKey: AnyKey(stringValue: "details"))
        }
    }

    /// The circumstances of a change: the caller and where the call came from.
    public struct Origin: Sendable {
        public let principal: Principal?
        public let sourceIP: String?
        public let requestID: String?

        public init(principal: Principal?, sourceIP: String?, requestID: String?) {
            self.principal = principal
            self.sourceIP = sourceIP
            self.requestID = requestID
        }

        /// A change made with the CLI on the server, by the local account `account`.
        public static func cli(account: String) -> Origin {
            Origin(principal: Principal(kind: .cli, id: account, name: account, role: .admin), sourceIP: "local", requestID: nil)
        }

        var actor: String {
            guard let principal else { return "anonymous" }
            switch principal.kind {
            case .user: return principal.name
            case .apiKey: return principal.id
            case .cli: return "cli:\(principal.name)"
            }
        }
    }

    let client: PostgresPool
    let logger: Logger

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func record(_ action: String, target: String?, detail: [String: String] = [:], origin: Origin) async throws {
        var details = detail
        details["actorKind"] = origin.principal?.kind.rawValue ?? "anonymous"
        if let name = origin.principal?.name, origin.principal?.kind == .apiKey { details["keyName"] = name }
        if let ip = origin.sourceIP { details["sourceIp"] = ip }
        if let requestID = origin.requestID, !requestID.isEmpty { details["requestId"] = requestID }
        let json = String(decoding: try JSONEncoder().encode(details), as: UTF8.self)
        try await client.query(
            "INSERT INTO audit_log (actor, action, target, details) VALUES (\(origin.actor), \(action), \(target), \(json)::jsonb)",
            logger: logger)
        logger.info("audit", metadata: ["action": "\(action)", "target": "\(target ?? "-")", "actor": "\(origin.actor)"])
    }

    /// The `command.send` entry of a command queued in `connection`'s transaction, so that the
    /// command and its entry are stored together or not at all.
    static func recordCommandSend(_ id: String, actor: String, details: String, on connection: PostgresConnection,
                                  logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO audit_log (actor, action, target, details)
            VALUES (\(actor), 'command.send', \(id), \(details)::jsonb)
            """, logger: logger)
    }

    /// Retention: deletes up to `limit` entries older than `cutoff`, answering how many.
    static func retentionBatch(before cutoff: Date, limit: Int64) -> PostgresQuery {
        """
        WITH gone AS (DELETE FROM audit_log WHERE id IN (
            SELECT id FROM audit_log WHERE at < \(cutoff) LIMIT \(limit)) RETURNING 1)
        SELECT count(*) FROM gone
        """
    }

    /// What `GET /audit` asks for: exact action, target and actor, a time range `[from, to)`,
    /// and a page of `limit` entries with ids below `before`. Validated without the database.
    struct Filter: Sendable, Equatable {
        static let parameters: Set<String> = ["limit", "cursor", "action", "target", "actor", "from", "to"]
        static let maximumLimit = 500

        let limit: Int
        let before: Int64?
        let action: String?
        let target: String?
        let actor: String?
        let from: Date?
        let to: Date?

        init(_ query: [String: String]) throws(APIError) {
            limit = try QueryValue.limit(query, maximum: Self.maximumLimit)
            before = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: Int64.self) }
            if let action = query["action"], action.range(of: "^[a-z_]{1,40}(\\.[a-z_]{1,40})+$", options: .regularExpression) == nil {
                throw APIError.invalidParameter("action", "must look like 'device.patch'")
            }
            for name in ["target", "actor"] {
                if let value = query[name], !Self.isPlainText(value) {
                    throw APIError.invalidParameter(name, "must be 1-200 characters without control characters")
                }
            }
            action = query["action"]
            target = query["target"]
            actor = query["actor"]
            from = try QueryValue.date(query, "from")
            to = try QueryValue.date(query, "to")
        }

        /// 1-200 code points, none a control character (C0, DEL, C1).
        static func isPlainText(_ value: String) -> Bool {
            (1...200).contains(value.unicodeScalars.count)
                && !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        }
    }

    /// Newest first: up to `filter.limit + 1` entries (one more tells the caller a next page exists).
    func list(_ filter: Filter) async throws -> [Entry] {
        let rows = try await client.query(
            """
            SELECT id, at, actor, action, target, details::text FROM audit_log
            WHERE (\(filter.before)::bigint IS NULL OR id < \(filter.before)::bigint)
              AND (\(filter.action)::text IS NULL OR action = \(filter.action)::text)
              AND (\(filter.target)::text IS NULL OR target = \(filter.target)::text)
              AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor)::text)
              AND (\(filter.from)::timestamptz IS NULL OR at >= \(filter.from)::timestamptz)
              AND (\(filter.to)::timestamptz IS NULL OR at < \(filter.to)::timestamptz)
            ORDER BY id DESC LIMIT \(filter.limit + 1)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, at, actor, action, target, details) in rows.decode((Int64, Date, String, String, String?, String).self) {
            let decoded = (try? JSONDecoder().decode(JSONValue.self, from: Data(details.utf8))) ?? .object([:])
            entries.append(Entry(id: id, at: at, actor: actor, action: action, target: target, details: decoded))
        }
        return entries
    }
}
