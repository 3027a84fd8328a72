import Foundation
import Logging
import OutpostSupport
import PostgresNIO

/// Reads a device's stored events (stream statistics and states, buffer drops, warnings) for
/// the console's timeline. Pages walk the `(device, ts DESC)` index, so a page costs `limit`
/// rows whatever the device's history.
extension DeviceEventsStore {
    /// One stored event. `data` is what the device sent, as JSON.
    struct Entry: Encodable, Sendable, Equatable {
        let id: Int64
        let ts: Date
        let kind: String
        let data: JSONValue
        let receivedAt: Date

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode(id, forKey: AnyKey(stringValue: "id"))
            try container.encode(ts, forKey: AnyKey(stringValue: "ts"))
            try container.encode(kind, forKey: AnyKey(stringValue: "kind"))
            try container.encode(data, forKey: AnyKey(stringValue: "data"))
            try container.encode(receivedAt, forKey: AnyKey(stringValue: "receivedAt"))
        }
    }

    /// Newest first; the cursor of the next page when there is one.
    func page(device: String, _ query: DeviceEventsQuery) async throws -> ([Entry], String?) {
        let after = query.after
        let rows = try await client.query(
            """
            SELECT id, ts, kind, data::text, received_at, (extract(epoch FROM ts) * 1000000)::bigint FROM device_events
            WHERE device = \(device) AND ts < \(query.to)
              AND (\(query.from)::timestamptz IS NULL OR ts >= \(query.from)::timestamptz)
              AND (\(query.kind)::text IS NULL OR kind = \(query.kind)::text)
              AND (\(after?.t)::bigint IS NULL
                   OR (ts, id) < ('epoch'::timestamptz + \(after?.t)::bigint * interval '1 microsecond', \(after?.id)::bigint))
            ORDER BY ts DESC, id DESC LIMIT \(query.limit + 1)
            """, logger: logger)
        var entries: [Entry] = []
        var last: DeviceEventsQuery.Position?
        var more = false
        for try await (id, ts, kind, data, receivedAt, micros) in rows.decode((Int64, Date, String, String, Date, Int64).self) {
            if entries.count == query.limit {
                more = true
                break
            }
            let decoded = (try? JSONDecoder().decode(JSONValue.self, from: Data(data.utf8))) ?? .object([:])
            entries.append(Entry(id: id, ts: ts, kind: kind, data: decoded, receivedAt: receivedAt))
            last = .init(t: micros, id: id)
        }
        return (entries, more ? last.map { Cursor.encode($0) } : nil)
    }
}
