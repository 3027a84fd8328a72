import Foundation
import Logging
import OutpostWire
import PostgresNIO

/// The `rejected_messages` table: writes dead letters and lists them for admins
/// (`GET /api/v1/rejected-messages`).
///
/// Every dead letter is counted under `outpost_ingest_dead_lettered_total{kind, sqlstate}`
/// and logged once with its device, topic and SQLSTATE (never its payload), whether or not
/// its row could be written.
public struct RejectedMessagesStore: Sendable {
    /// One stored dead letter, as the API lists it.
    public struct Entry: Codable, Sendable, Equatable {
        public let id: Int64
        public let at: Date
        public let device: String
        public let topic: String
        public let code: String
        public let sqlstate: String?
        public let excerpt: String

        /// Absent values are written as `null`, so every documented field is always present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(at, forKey: .at)
            try container.encode(device, forKey: .device)
            try container.encode(topic, forKey: .topic)
            try container.encode(code, forKey: .code)
            try container.encode(sqlstate, forKey: .sqlstate)
            try container.encode(excerpt, forKey: .excerpt)
        }
    }

    let client: PostgresPool
    let metrics: AggregatorMetrics?
    let logger: Logger

    public init(client: PostgresPool, metrics: AggregatorMetrics?, logger: Logger) {
        self.client = client
        self.metrics = metrics
        self.logger = logger
    }

    /// Counts, logs and stores `letters` in one statement.
    public func record(_ letters: [DeadLetter]) async {
        guard !letters.isEmpty else { return }
        for letter in letters {
            metrics?.deadLettered(kind: RejectionReason.kind(letter.kind), sqlstate: letter.sqlstate ?? "none")
            logger.warning("message refused by the database; dead-lettered", metadata: [
                "device": "\(letter.device)", "topic": "\(letter.topic)", "sqlstate": "\(letter.sqlstate ?? "none")",
            ])
        }
        do {
            try await client.query(
                """
                INSERT INTO rejected_messages (device, topic, code, sqlstate, excerpt)
                SELECT l.device, l.topic, l.code, nullif(l.sqlstate, ''), l.excerpt
                FROM unnest(\(letters.map(\.device.rawValue))::text[], \(letters.map(\.topic))::text[],
                            \(letters.map(\.code))::text[], \(letters.map { $0.sqlstate ?? "" })::text[],
                            \(letters.map(\.excerpt))::text[]) AS l(device, topic, code, sqlstate, excerpt)
                """, logger: logger)
        } catch {
            logger.error("dead letters not stored", metadata: ["count": "\(letters.count)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Newest first, `limit` entries with ids below `before`, optionally of one device.
    public func list(limit: Int, before: Int64?, device: String?) async throws -> [Entry] {
        let rows = try await client.query(
            """
            SELECT id, at, device, topic, code, sqlstate, excerpt FROM rejected_messages
            WHERE (\(before)::bigint IS NULL OR id < \(before)::bigint)
              AND (\(device)::text IS NULL OR device = \(device)::text)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, at, device, topic, code, sqlstate, excerpt) in rows.decode(
            (Int64, Date, String, String, String, String?, String).self)
        {
            entries.append(Entry(id: id, at: at, device: device, topic: topic, code: code, sqlstate: sqlstate, excerpt: excerpt))
        }
        return entries
    }
}
