import Foundation
import OutpostWire

/// A validated query of one device's stored events (`device_events`), newest first:
/// `[from, to)`, optionally one `kind`, `limit` per page, resuming after `cursor`. Built from
/// query parameters without the database, so every refusal is a 400 tested as a value.
struct DeviceEventsQuery: Sendable, Equatable {
    /// Where a page resumes: strictly older than this event (its time in µs since the epoch, then its id).
    /// `^-?[0-9]{1,16}\.[0-9]{1,18}$`.
    struct Position: Sendable, Equatable, CursorKey {
        let t: Int64
        let id: Int64

        var cursorText: String { "\(t).\(id)" }

        init(t: Int64, id: Int64) {
            self.t = t
            self.id = id
        }

        init?(cursorText text: Substring) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let t = Cursor.integer(parts[0], digits: 16, signed: true),
                  let id = Cursor.integer(parts[1], digits: 18, signed: false)
            else { return nil }
            self.init(t: t, id: id)
        }
    }

    static let parameters: Set<String> = ["from", "to", "kind", "limit", "cursor"]
    /// The wire's event kind grammar (``DeviceEvent``).
    static let kindPattern = "^[a-z][a-z0-9_]{0,63}$"
    static let cursorPattern = "^-?[0-9]{1,16}\\.[0-9]{1,18}$"
    static let defaultLimit = 100
    static let maximumLimit = 1000

    /// Inclusive; nil means from the oldest stored event.
    let from: Date?
    /// Exclusive.
    let to: Date
    let kind: String?
    let limit: Int
    let after: Position?

    init(_ query: [String: String], now: Date = Date()) throws(APIError) {
        from = try QueryValue.date(query, "from")
        to = try QueryValue.date(query, "to") ?? now
        if let kind = query["kind"], !Command.isValidName(kind) {
            throw APIError.invalidParameter("kind", "must match \(Self.kindPattern)")
        }
        kind = query["kind"]
        limit = try QueryValue.limit(query, default: Self.defaultLimit, maximum: Self.maximumLimit)
        after = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: Position.self) }
    }
}
