import Foundation
import Logging
import OutpostCommon
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

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
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

    /// Newest first, `limit` entries with ids below `before`.
    func list(limit: Int, before: Int64?, action: String?, target: String?) async throws -> [Entry] {
        let rows = try await client.query(
            """
            SELECT id, at, actor, action, target, details::text FROM audit_log
            WHERE (\(before)::bigint IS NULL OR id < \(before)::bigint)
              AND (\(action)::text IS NULL OR action = \(action)::text)
              AND (\(target)::text IS NULL OR target = \(target)::text)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, at, actor, action, target, details) in rows.decode((Int64, Date, String, String, String?, String).self) {
            let decoded = (try? JSONDecoder().decode(JSONValue.self, from: Data(details.utf8))) ?? .object([:])
            entries.append(Entry(id: id, at: at, actor: actor, action: action, target: target, details: decoded))
        }
        return entries
    }
}
