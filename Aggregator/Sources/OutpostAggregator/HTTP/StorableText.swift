import Foundation

/// Refuses JSON text PostgreSQL cannot hold: U+0000 (neither `text` nor `jsonb` stores
/// it) and lone UTF-16 surrogates (`\ud800` without its pair, not a Unicode scalar).
///
/// Checked on the whole body before decoding, in keys and values at any depth, so every
/// field that reaches the database is covered, and the 422 names the field
/// (`args.note`, `tags[2]`) instead of a 500 from the database.
enum StorableText {
    /// Throws 400 `invalid_json` for a body that is not JSON, 422 `validation_failed` naming
    /// the first field (or key) with text PostgreSQL cannot store.
    static func check(json data: Data) throws(APIError) {
        // A lone surrogate escape becomes U+0000, which the walk below then finds and names.
        let marked = markingLoneSurrogates(data)
        guard let object = try? JSONSerialization.jsonObject(with: marked ?? data, options: [.fragmentsAllowed]) else {
            throw APIError(.badRequest, .invalidJSON, "the body is not valid JSON")
        }
        if let field = firstUnstorable(object, path: "") {
            let name = field.isEmpty ? "the body" : "field '\(field)'"
            throw APIError.validation("\(name) contains text PostgreSQL cannot store (U+0000 or a lone UTF-16 surrogate)")
        }
    }

    /// The path of the first string or key holding U+0000, or nil.
    static func firstUnstorable(_ value: Any, path: String) -> String? {
        switch value {
        case let text as String:
            return text.unicodeScalars.contains("\u{0}") ? path : nil
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if key.unicodeScalars.contains("\u{0}") { return child }
                if let found = firstUnstorable(object[key]!, path: child) { return found }
            }
            return nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = firstUnstorable(element, path: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// A copy with each `\uD800`–`\uDFFF` escape that is not half of a valid pair replaced
    /// by `\u0000`; nil when there is none. Raw (unescaped) surrogates cannot occur: they
    /// are not valid UTF-8, and the parser refuses them.
    static func markingLoneSurrogates(_ data: Data) -> Data? {
        let bytes = [UInt8](data)
        var output = bytes
        var changed = false
        var index = 0
        var inString = false
        func escapeValue(at position: Int) -> UInt16? {
            guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u"),
                  let text = String(bytes: bytes[(position + 2)..<(position + 6)], encoding: .ascii)
            else { return nil }
            return UInt16(text, radix: 16)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if !inString {
                if byte == UInt8(ascii: "\"") { inString = true }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\"") {
                inString = false
                index += 1
            } else if byte == UInt8(ascii: "\\") {
                guard let unit = escapeValue(at: index) else {
                    index += 2
                    continue
                }
                if (0xD800...0xDBFF).contains(unit), let next = escapeValue(at: index + 6), (0xDC00...0xDFFF).contains(next) {
                    index += 12
                } else if (0xD800...0xDFFF).contains(unit) {
                    output.replaceSubrange((index + 2)..<(index + 6), with: Array("0000".utf8))
                    changed = true
                    index += 6
                } else {
                    index += 6
                }
            } else {
                index += 1
            }
        }
        return changed ? Data(output) : nil
    }
}
