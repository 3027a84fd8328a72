import Foundation
import OutpostWire

/// Pagination cursors: the last item's sort key as plain text with one exact grammar per list,
/// so the OpenAPI document can state each as a `pattern` and every string matching it is a
/// position the server accepts (a position past the end is simply an empty page).
/// Anything else is 400 `invalid_cursor`.
protocol CursorKey {
    /// The key as cursor text.
    var cursorText: String { get }
    /// The key, or nil when `text` does not follow the grammar.
    init?(cursorText text: Substring)
}

enum Cursor {
    static func encode(_ key: some CursorKey) -> String { key.cursorText }

    static func decode<Key: CursorKey>(_ text: String, as type: Key.Type) throws(APIError) -> Key {
        guard text.utf8.count <= 128, let key = Key(cursorText: Substring(text)) else {
            throw APIError(.badRequest, .invalidCursor, "the cursor is malformed; use nextCursor from a previous page")
        }
        return key
    }

    /// A signed decimal of at most `digits` digits (a time in microseconds, an id, a sequence number).
    static func integer(_ text: Substring, digits: Int, signed: Bool) -> Int64? {
        let body = signed && text.hasPrefix("-") ? text.dropFirst() : text
        guard (1...digits).contains(body.utf8.count), body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }
}

/// `^[0-9]{1,18}$`: the audit log's entry id.
extension Int64: CursorKey {
    var cursorText: String { String(self) }
    init?(cursorText text: Substring) {
        guard let value = Cursor.integer(text, digits: 18, signed: false) else { return nil }
        self = value
    }
}

/// `^[a-z0-9][a-z0-9-]{0,62}$`: the device list's last device id.
extension DeviceID: CursorKey {
    var cursorText: String { rawValue }
    init?(cursorText text: Substring) { self.init(String(text)) }
}
