import Foundation
import Logging
import OutpostSupport
import OutpostWire
import PostgresNIO

/// Commands as the admin API, live view and recorder see them (queued → sent → succeeded |
/// failed | expired). Inserting a row is all "send" does: the table's trigger wakes the
/// aggregators' dispatchers, which publish it and track its state.
extension CommandsStore {
    /// A command as the admin API, live view and recorder show it.
    struct View: Codable, Sendable, Equatable {
        let id: String
        let device: String
        let name: String
        let args: JSONValue
        let status: String
        let createdAt: Date
        let createdBy: String
        let expiresAt: Date
        let sentAt: Date?
        let finishedAt: Date?
        let output: JSONValue?
        let errorCode: String?
        let errorMessage: String?

        /// Absent values are written as `null`, so every documented field is always present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(id, forKey: AnyKey(stringValue: "id"))
            try container.encode(device, forKey: AnyKey(stringValue: "device"))
            try container.encode(name, forKey: AnyKey(stringValue: "name"))
            try container.encode(args, forKey: AnyKey(stringValue: "args"))
            try container.encode(status, forKey: AnyKey(stringValue: "status"))
            try container.encode(createdAt, forKey: AnyKey(stringValue: "createdAt"))
            try container.encode(createdBy, forKey: AnyKey(stringValue: "createdBy"))
            try container.encode(expiresAt, forKey: AnyKey(stringValue: "expiresAt"))
            try container.encode(sentAt, forKey: AnyKey(stringValue: "sentAt"))
            try container.encode(finishedAt, forKey: AnyKey(stringValue: "finishedAt"))
            try container.encode(output, forKey: AnyKey(stringValue: "output"))
            try container.encode(errorCode, forKey: AnyKey(stringValue: "errorCode"))
            try container.encode(errorMessage, forKey: AnyKey(stringValue: "errorMessage"))
        }
    }

    /// The agent's built-in commands (see DESIGN.md, Commands).
    static let names: Set<String> = ["ping", "set_interval", "collect_now", "start_stream", "stop_stream", "restart_agent"]
    static let statuses: Set<String> = ["queued", "sent", "succeeded", "failed", "expired"]
    /// The columns of a ``View``.
    static let viewColumns = """
        id, device, name, args::text, status, created_at, created_by, expires_at, sent_at, finished_at, output::text, error_code, error_message
        """

    func send(device: String, name: String, args: JSONValue, ttl: Int, origin: AuditLog.Origin, audit: AuditLog) async throws -> View {
        let id = "cmd-" + SecretToken.generate(bytes: 12)
        let argsJSON = String(decoding: try JSONEncoder().encode(args), as: UTF8.self)
        let rows = try await client.query(
            """
            INSERT INTO commands (id, device, name, args, created_by, expires_at)
            SELECT \(id), id, \(name), \(argsJSON)::jsonb, \(origin.actor), now() + make_interval(secs => \(ttl))
            FROM devices WHERE id = \(device) AND decommissioned_at IS NULL
            RETURNING \(unescaped: Self.viewColumns)
            """, logger: logger)
        guard let command = try await Self.commands(rows).first else {
            throw APIError(.conflict, .conflict, "device \(device) is decommissioned")
        }
        try await audit.record("command.send", target: "device:\(device)", detail: ["command": id, "name": name], origin: origin)
        return command
    }

    func get(_ id: String) async throws -> View? {
        guard id.range(of: "^[A-Za-z0-9_-]{1,64}$", options: .regularExpression) != nil else { return nil }
        return try await Self.commands(try await client.query("SELECT \(unescaped: Self.viewColumns) FROM commands WHERE id = \(id)", logger: logger)).first
    }

    /// Newest first; the position of each command is the cursor to continue after it.
    func list(device: String, status: String?, after: Position?, limit: Int) async throws -> [(View, Position)] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.viewColumns), (extract(epoch FROM created_at) * 1000000)::bigint FROM commands
            WHERE device = \(device) AND (\(status)::text IS NULL OR status = \(status)::text)
              AND (\(after?.t)::bigint IS NULL
                   OR (created_at, id) < ('epoch'::timestamptz + \(after?.t)::bigint * interval '1 microsecond', \(after?.i)::text))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var result: [(View, Position)] = []
        for try await row in rows.decode(
            (String, String, String, String, String, Date, String, Date, Date?, Date?, String?, String?, String?, Int64).self)
        {
            let command = Self.command((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11, row.12))
            result.append((command, Position(t: row.13, i: command.id)))
        }
        return result
    }

    /// `^-?[0-9]{1,16}\.[A-Za-z0-9_-]{1,64}$`: the command's creation time in microseconds and its id.
    struct Position: Codable, Sendable, Equatable, CursorKey {
        let t: Int64
        let i: String

        var cursorText: String { "\(t).\(i)" }

        init(t: Int64, i: String) {
            self.t = t
            self.i = i
        }

        init?(cursorText text: Substring) {
            let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let t = Cursor.integer(parts[0], digits: 16, signed: true), (1...64).contains(parts[1].utf8.count),
                  parts[1].utf8.allSatisfy({ CommandsStore.isIDByte($0) })
            else { return nil }
            self.init(t: t, i: String(parts[1]))
        }
    }

    /// `[A-Za-z0-9_-]`, the bytes of a command id.
    static func isIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }

    typealias ViewRow = (String, String, String, String, String, Date, String, Date, Date?, Date?, String?, String?, String?)

    private static func commands(_ rows: PostgresRowSequence) async throws -> [View] {
        var commands: [View] = []
        for try await row in rows.decode(ViewRow.self) { commands.append(command(row)) }
        return commands
    }

    private static func command(_ row: ViewRow) -> View {
        func json(_ text: String?) -> JSONValue? {
            text.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        }
        // The SRTP key of a live view's start_stream is for the agent only (see docs/streaming.md).
        return View(id: row.0, device: row.1, name: row.2, args: SRTPKeyText.redacted(json(row.3) ?? .object([:])), status: row.4, createdAt: row.5,
                       createdBy: row.6, expiresAt: row.7, sentAt: row.8, finishedAt: row.9, output: json(row.10),
                       errorCode: row.11, errorMessage: row.12)
    }
}
