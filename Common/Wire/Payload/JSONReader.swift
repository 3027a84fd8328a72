#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads typed values straight out of a payload that ``JSONScanner`` has accepted, without
/// building a document or going through `Decodable`: the hot messages' decoders
/// (``TelemetryBatch``) walk it field by field.
///
/// The scanner has already checked syntax, UTF-8, duplicate keys, nesting and text, so the
/// reader only moves between positions. Each typed accessor decides exactly as Foundation's
/// `JSONDecoder` does for the same value: a number written with a fraction or an exponent
/// is an integer when it is exactly one (`1.0`, `1e2`), a double that overflows or whose
/// nonzero digits underflow to zero is refused, and such a number anywhere in the payload
/// makes a type error `malformed_json`. `DirectDecoderTests` compares whole decodes
/// against the `JSONDecoder` path on vectors, generated and mutated payloads.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>

    enum Kind {
        case object, array, string, number, literal, null
    }

    /// A JSON string's content, between its quotes.
    struct StringSpan {
        var start: Int
        var end: Int
        var hasEscape: Bool
    }

    /// The index of the first non-whitespace byte at or after `index`.
    func skipWhitespace(from index: Int) -> Int {
        var index = index
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    func kind(at index: Int) -> Kind {
        switch bytes[index] {
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "n"): .null
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .literal
        default: .number
        }
    }

    func describe(_ kind: Kind) -> String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .literal: "a boolean"
        case .null: "null"
        }
    }

    /// The string starting at its opening quote at `index`, and the index after its closing quote.
    func stringSpan(at index: Int) -> (StringSpan, next: Int) {
        var cursor = index + 1
        var hasEscape = false
        while bytes[cursor] != UInt8(ascii: "\"") {
            if bytes[cursor] == UInt8(ascii: "\\") {
                hasEscape = true
                cursor += 1
            }
            cursor += 1
        }
        return (StringSpan(start: index + 1, end: cursor, hasEscape: hasEscape), cursor + 1)
    }

    /// The index just after the value starting at `index`.
    func end(ofValueAt index: Int) -> Int {
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return stringSpan(at: index).next
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var cursor = index
            while true {
                switch bytes[cursor] {
                case UInt8(ascii: "\""):
                    cursor = stringSpan(at: cursor).next
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return cursor + 1 }
                default:
                    break
                }
                cursor += 1
            }
        default:
            var cursor = index
            while cursor < bytes.count {
                switch bytes[cursor] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return cursor
                default: cursor += 1
                }
            }
            return cursor
        }
    }

    /// Calls `body` with each member's key and the index of its value, in document order;
    /// `body` returns the index after the value when it read the value through, else nil.
    /// Returns the index after the object.
    @discardableResult
    func forEachMember(
        ofObjectAt index: Int, _ body: (StringSpan, Int) throws(WireError) -> Int?
    ) throws(WireError) -> Int {
        var cursor = skipWhitespace(from: index + 1)
        if bytes[cursor] == UInt8(ascii: "}") { return cursor + 1 }
        while true {
            let (key, afterKey) = stringSpan(at: cursor)
            let valueStart = skipWhitespace(from: skipWhitespace(from: afterKey) + 1)
            let valueEnd = try body(key, valueStart) ?? end(ofValueAt: valueStart)
            cursor = skipWhitespace(from: valueEnd)
            if bytes[cursor] == UInt8(ascii: "}") { return cursor + 1 }
            cursor = skipWhitespace(from: cursor + 1)
        }
    }

    /// Calls `body` with the position and index of each element, in order; `body` returns the
    /// index after the element when it read it through, else nil. Returns the index after the array.
    @discardableResult
    func forEachElement(ofArrayAt index: Int, _ body: (Int, Int) throws(WireError) -> Int?) throws(WireError) -> Int {
        var cursor = skipWhitespace(from: index + 1)
        if bytes[cursor] == UInt8(ascii: "]") { return cursor + 1 }
        var position = 0
        while true {
            let elementEnd = try body(position, cursor) ?? end(ofValueAt: cursor)
            position += 1
            cursor = skipWhitespace(from: elementEnd)
            if bytes[cursor] == UInt8(ascii: "]") { return cursor + 1 }
            cursor = skipWhitespace(from: cursor + 1)
        }
    }

    /// Whether the key spelled by `span` is `name` (after unescaping).
    func key(_ span: StringSpan, is name: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        if span.hasEscape { return unescaped(span).elementsEqual(expected) }
        guard span.end - span.start == expected.count else { return false }
        for offset in 0..<expected.count where bytes[span.start + offset] != expected[offset] { return false }
        return true
    }

    /// The UTF-8 bytes a string stands for, escapes resolved. The scanner has refused `\u0000`
    /// and lone surrogates, so every `\u` escape here is a scalar or a valid pair.
    func unescaped(_ span: StringSpan) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(span.end - span.start)
        var cursor = span.start
        while cursor < span.end {
            let byte = bytes[cursor]
            guard byte == UInt8(ascii: "\\") else {
                result.append(byte)
                cursor += 1
                continue
            }
            let escape = bytes[cursor + 1]
            cursor += 2
            switch escape {
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: cursor)
                cursor += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(at: cursor + 2) - 0xDC00)
                    cursor += 6
                }
                if let unicode = Unicode.Scalar(scalar) { result.append(contentsOf: unicode.utf8) }
            default: result.append(escape)
            }
        }
        return result
    }

    private func hex4(at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: digit = byte - UInt8(ascii: "A") + 10
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: typed values, decided as JSONDecoder decides

    private func wrongType(_ path: String, _ expected: String, _ index: Int) -> WireError {
        WireError(.wrongType, "\(path) is \(describe(kind(at: index))), expected \(expected)")
    }

    /// The string at `index` as Swift text, or `wrong_type` for any other kind (null included).
    func string(at index: Int, path: @autoclosure () -> String) throws(WireError) -> String {
        guard bytes[index] == UInt8(ascii: "\"") else { throw wrongType(path(), "a string", index) }
        let span = stringSpan(at: index).0
        if span.hasEscape { return String(decoding: unescaped(span), as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]), as: UTF8.self)
    }

    /// The integer at `index`: a plain `-?[0-9]+` within range directly. Another spelling is
    /// read as a double first; it is the integer the double exactly is, below 2^53 (above,
    /// where doubles are sparse, `JSONDecoder` itself decides from the digits).
    func int64(at index: Int, path: @autoclosure () -> String) throws(WireError) -> Int64 {
        guard kind(at: index) == .number else { throw wrongType(path(), "an integer", index) }
        let end = end(ofValueAt: index)
        var cursor = index
        let negative = bytes[cursor] == UInt8(ascii: "-")
        if negative { cursor += 1 }
        var magnitude: UInt64 = 0
        var plain = true
        while cursor < end {
            let digit = bytes[cursor] &- UInt8(ascii: "0")
            guard digit < 10 else {
                plain = false
                break
            }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { throw unfit(path(), "a 64-bit integer") }
            magnitude = sum
            cursor += 1
        }
        if plain {
            let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
            guard magnitude <= limit else { throw unfit(path(), "a 64-bit integer") }
            return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
        }
        let number = parse(from: index, to: end)
        guard let rounded = number.value ?? Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)),
              let value = Int64(exactly: rounded)
        else { throw unfit(path(), "a 64-bit integer") }
        if value.magnitude < 1 << 53 { return value }
        guard let decided = try? JSONDecoder().decode(Int64.self, from: Data(UnsafeBufferPointer(rebasing: bytes[index..<end]))) else {
            throw unfit(path(), "a 64-bit integer")
        }
        return decided
    }

    /// The number at `index` as a `Double`, as `JSONDecoder` reads it: correctly rounded, and
    /// refused when it overflows or when nonzero digits underflow to zero.
    func double(at index: Int, path: @autoclosure () -> String) throws(WireError) -> Double {
        guard kind(at: index) == .number else { throw wrongType(path(), "a number", index) }
        guard let value = doubleValue(from: index, to: end(ofValueAt: index)) else { throw unfit(path(), "a double") }
        return value
    }

    /// A number that does not fit its field is `wrong_type`, unless some number in the
    /// payload fits no double at all: then `JSONDecoder` cannot read the payload as any
    /// JSON value either, and the payload is `malformed_json` (docs/protocol.md).
    private func unfit(_ path: String, _ expected: String) -> WireError {
        var cursor = 0
        while cursor < bytes.count {
            switch bytes[cursor] {
            case UInt8(ascii: "\""):
                cursor = stringSpan(at: cursor).next
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let end = end(ofValueAt: cursor)
                if doubleValue(from: cursor, to: end) == nil {
                    return WireError(.malformedJSON, "a number at byte \(cursor) does not fit in a double")
                }
                cursor = end
            default:
                cursor += 1
            }
        }
        return WireError(.wrongType, "\(path) does not fit in \(expected)")
    }

    private func doubleValue(from start: Int, to end: Int) -> Double? {
        let number = parse(from: start, to: end)
        if let value = number.value { return value }
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)),
              value.isFinite, value != 0 || number.allZero
        else { return nil }
        return value
    }

    /// Exact powers of ten a `Double` holds: the fast path's scale factors.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// A number's value when one exact multiplication or division gives it correctly rounded
    /// (at most 15 significant digits, a decimal exponent within ±22), and whether all its
    /// digits are zero. Longer spellings are left to the standard library's correctly
    /// rounded parse, which `JSONDecoder`'s agrees with.
    private func parse(from start: Int, to end: Int) -> (value: Double?, allZero: Bool) {
        var cursor = start
        let negative = bytes[cursor] == UInt8(ascii: "-")
        if negative { cursor += 1 }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var scale = 0
        var seenPoint = false
        while cursor < end {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                break
            } else {
                let digit = UInt64(byte &- UInt8(ascii: "0"))
                if mantissa != 0 || digit != 0 { significantDigits += 1 }
                if significantDigits <= 15 {
                    mantissa = mantissa * 10 + digit
                    if seenPoint { scale -= 1 }
                }
            }
            cursor += 1
        }
        guard significantDigits <= 15 else { return (nil, false) }
        var exponent = 0
        if cursor < end {
            cursor += 1
            var exponentNegative = false
            if bytes[cursor] == UInt8(ascii: "-") || bytes[cursor] == UInt8(ascii: "+") {
                exponentNegative = bytes[cursor] == UInt8(ascii: "-")
                cursor += 1
            }
            while cursor < end {
                exponent = min(exponent * 10 + Int(bytes[cursor] &- UInt8(ascii: "0")), 100_000)
                cursor += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        let decimalExponent = scale + exponent
        guard mantissa != 0 else { return (negative ? -0.0 : 0.0, true) }
        guard (-22...22).contains(decimalExponent) else { return (nil, false) }
        var value = Double(mantissa)
        if decimalExponent >= 0 {
            value *= Self.powersOfTen[decimalExponent]
        } else {
            value /= Self.powersOfTen[-decimalExponent]
        }
        return (negative ? -value : value, false)
    }
}
