/// A strict, single-pass check of a JSON payload before anything decodes it.
///
/// One pass over the bytes, with nesting bounded by ``maxDepth``, so a hostile payload
/// costs time proportional to its size whatever its shape. It refuses:
/// - more than ``maxBytes`` bytes: `payload_too_large`;
/// - anything that is not RFC 8259 JSON, invalid UTF-8 anywhere (inside strings too), and an
///   object with the same key twice (compared after unescaping): `malformed_json`;
/// - containers nested deeper than ``maxDepth``: `nesting_too_deep`;
/// - a string (key or value) holding `\u0000` or a lone surrogate escape, which PostgreSQL
///   `text` and `jsonb` cannot store: `invalid_text`.
///
/// It only checks; it builds no values, so it can sit in front of any decoder.
public struct JSONScanner: Sendable {
    /// Largest accepted input, in bytes.
    public var maxBytes: Int
    /// Deepest accepted nesting: `[]` and `{}` are 1, `{"a":[]}` is 2.
    public var maxDepth: Int

    public init(maxBytes: Int, maxDepth: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// The scanner ``WireCodec`` runs: the payload cap, and the free-form depth limit plus the
    /// two levels the envelopes add (`{"data": …}`, `{"readings": [{…}]}`).
    public init(limits: WireLimits) {
        self.init(maxBytes: limits.maxPayloadBytes, maxDepth: limits.maxNestingDepth + 2)
    }

    /// Checks `bytes`; returns normally when they are one well-formed JSON value within the limits.
    public func scan(_ bytes: some Collection<UInt8>) throws(WireError) {
        guard bytes.count <= maxBytes else {
            throw WireError(.payloadTooLarge, "\(bytes.count) bytes exceed the cap of \(maxBytes)")
        }
        let result: Result<Void, WireError>? = bytes.withContiguousStorageIfAvailable { buffer in
            var cursor = Cursor(bytes: buffer, maxDepth: maxDepth)
            return Result { () throws(WireError) in try cursor.document() }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        try copy.withUnsafeBufferPointer { buffer throws(WireError) in
            var cursor = Cursor(bytes: buffer, maxDepth: maxDepth)
            try cursor.document()
        }
    }
}

/// An object key seen so far: its bytes in the payload when it has no escape (the common
/// case, no copy), else its unescaped bytes.
private enum SeenKey {
    case raw(Range<Int>)
    case unescaped([UInt8])
}

/// The scanning state over one contiguous buffer. Recursion is bounded by `maxDepth`.
private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    var depth = 0
    /// The keys of the objects being scanned, innermost last: an object compares a new key with
    /// its own (from its base) linearly while it has few, then through a set.
    var seenKeys: [SeenKey] = []
    /// Objects with more keys than this switch to hashing, so a hostile object stays linear.
    static let linearKeyLimit = 16

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func document() throws(WireError) {
        skipWhitespace()
        try value()
        skipWhitespace()
        guard index == bytes.count else { throw malformed("unexpected data after the JSON value") }
    }

    private func malformed(_ what: String) -> WireError {
        WireError(.malformedJSON, "\(what) at byte \(index)")
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func value() throws(WireError) {
        guard let byte = current else { throw malformed("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""):
            var ignored: [UInt8]? = nil
            _ = try string(collecting: &ignored)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw malformed("unexpected byte 0x\(String(byte, radix: 16))")
        }
    }

    private mutating func enter() throws(WireError) {
        depth += 1
        guard depth <= maxDepth else { throw WireError(.nestingTooDeep, "JSON nests deeper than \(maxDepth) at byte \(index)") }
        index += 1
        skipWhitespace()
    }

    private mutating func object() throws(WireError) {
        try enter()
        defer { depth -= 1 }
        if current == UInt8(ascii: "}") {
            index += 1
            return
        }
        let base = seenKeys.count
        defer { seenKeys.removeSubrange(base...) }
        var hashed: Set<[UInt8]>?
        while true {
            guard current == UInt8(ascii: "\"") else { throw malformed("expected a key") }
            let start = index
            var ignored: [UInt8]? = nil
            let key: SeenKey
            if try string(collecting: &ignored) {
                index = start
                var unescaped: [UInt8]? = []
                _ = try string(collecting: &unescaped)
                key = .unescaped(unescaped ?? [])
            } else {
                key = .raw(start + 1..<index - 1)
            }
            if hashed == nil, seenKeys.count - base == Self.linearKeyLimit {
                hashed = Set(seenKeys[base...].map(contents))
            }
            if hashed != nil {
                guard hashed?.insert(contents(key)).inserted == true else { throw malformed("duplicate key") }
            } else {
                for earlier in seenKeys[base...] where same(earlier, key) { throw malformed("duplicate key") }
                seenKeys.append(key)
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw malformed("expected ':'") }
            index += 1
            skipWhitespace()
            try value()
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                return
            default:
                throw malformed("expected ',' or '}'")
            }
        }
    }

    private func contents(_ key: SeenKey) -> [UInt8] {
        switch key {
        case .raw(let range): Array(UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped(let unescaped): unescaped
        }
    }

    private func same(_ a: SeenKey, _ b: SeenKey) -> Bool {
        switch (a, b) {
        case (.raw(let x), .raw(let y)):
            x.count == y.count && UnsafeBufferPointer(rebasing: bytes[x]).elementsEqual(UnsafeBufferPointer(rebasing: bytes[y]))
        case (.raw(let x), .unescaped(let y)), (.unescaped(let y), .raw(let x)):
            x.count == y.count && UnsafeBufferPointer(rebasing: bytes[x]).elementsEqual(y)
        case (.unescaped(let x), .unescaped(let y)):
            x == y
        }
    }

    private mutating func array() throws(WireError) {
        try enter()
        defer { depth -= 1 }
        if current == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try value()
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                return
            default:
                throw malformed("expected ',' or ']'")
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(WireError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw malformed("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw malformed("invalid literal")
        }
        index += count
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func number() throws(WireError) {
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw malformed("invalid number") }
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw malformed("invalid number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw malformed("invalid number") }
        }
    }

    /// Scans a string starting at its opening quote; when `collecting` is non-nil, appends
    /// its unescaped UTF-8 bytes (for duplicate-key detection). Returns whether it holds an escape.
    private mutating func string(collecting: inout [UInt8]?) throws(WireError) -> Bool {
        index += 1
        var escaped = false
        while true {
            guard let byte = current else { throw malformed("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return escaped
            case UInt8(ascii: "\\"):
                index += 1
                escaped = true
                try escape(collecting: &collecting)
            case 0x00..<0x20:
                throw malformed("control character in a string")
            case 0x20..<0x80:
                collecting?.append(byte)
                index += 1
            default:
                let length = try utf8Sequence()
                if collecting != nil {
                    collecting!.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length]))
                }
                index += length
            }
        }
    }

    private mutating func escape(collecting: inout [UInt8]?) throws(WireError) {
        guard let byte = current else { throw malformed("unterminated escape") }
        index += 1
        let simple: UInt8
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = byte
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar == 0 { throw WireError(.invalidText, "a string holds \\u0000 at byte \(index - 6)") }
            if (0xDC00...0xDFFF).contains(scalar) {
                throw WireError(.invalidText, "a string holds a lone low surrogate at byte \(index - 6)")
            }
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw WireError(.invalidText, "a string holds a lone high surrogate at byte \(index - 6)")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw WireError(.invalidText, "a string holds a lone high surrogate at byte \(index - 12)")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            if collecting != nil, let unicode = Unicode.Scalar(scalar) {
                collecting!.append(contentsOf: Array(String(Character(unicode)).utf8))
            }
            return
        default:
            throw malformed("invalid escape")
        }
        collecting?.append(simple)
    }

    private mutating func hex4() throws(WireError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw malformed("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (a lead byte ≥ 0x80):
    /// no overlong forms, no encoded surrogates, nothing above U+10FFFF (Unicode table 3-7).
    private func utf8Sequence() throws(WireError) -> Int {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw malformed("invalid UTF-8")
        }
        guard bytes.count - index >= length, secondRange.contains(bytes[index + 1]) else { throw malformed("invalid UTF-8") }
        for offset in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + offset]) {
            throw malformed("invalid UTF-8")
        }
        return length
    }
}
