import Foundation

/// Opaque pagination cursors: base64url of a small JSON value (the last item's sort key).
/// Anything that does not decode to the expected type is `invalid_cursor` (400).
enum Cursor {
    static func encode<Key: Encodable>(_ key: Key) -> String {
        Base64URL.encode((try? JSONEncoder().encode(["k": key])) ?? Data())
    }

    static func decode<Key: Decodable>(_ text: String, as type: Key.Type) throws(APIError) -> Key {
        guard text.utf8.count <= 512, let data = Base64URL.decode(Substring(text)),
              let decoded = try? JSONDecoder().decode([String: Key].self, from: data), let key = decoded["k"]
        else { throw APIError(.badRequest, .invalidCursor, "the cursor is malformed; use nextCursor from a previous page") }
        return key
    }
}
