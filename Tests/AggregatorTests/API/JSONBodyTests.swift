import AggregatorTestSupport
import Foundation
import OutpostSupport
import Testing
@testable import OutpostAggregator

/// The direct writers of the hot list responses against `APIJSON.encoder`: the same bytes
/// for random and hostile values.
@Suite("JSON bodies written directly: byte for byte APIJSON.encoder's")
struct JSONBodyTests {
    static let hostile: [String] = [
        "", "\u{0}", "\"", "\\", "/", "</script>", "\u{1}\u{1F}\u{7F}", "\u{8}\u{C}\n\r\t", "é", "e\u{301}", "\u{2028}\u{2029}",
        "😀", "\u{FEFF}", "ﬀ", "日本語", "a\"b\\c/d", "\\u0000", "10", "9", "a10", "a9", "B", "_", " ",
    ]

    static func string(_ random: inout SeededRandom) -> String {
        if Bool.random(using: &random) { return hostile.randomElement(using: &random)! }
        let scalars = (0..<Int.random(in: 0...12, using: &random)).map { _ -> Character in
            switch Int.random(in: 0..<4, using: &random) {
            case 0: Character(Unicode.Scalar(UInt8.random(in: 0...0x7F, using: &random)))
            case 1: Character(Unicode.Scalar(UInt32.random(in: 0x80...0x7FF, using: &random))!)
            case 2: Character(Unicode.Scalar(UInt32.random(in: 0x1F300...0x1F64F, using: &random))!)
            default: "\"\\/\u{0}".randomElement(using: &random)!
            }
        }
        return String(scalars)
    }

    static func number(_ random: inout SeededRandom) -> Double {
        let special: [Double] = [0, -0.0, 1, -1, 0.1, 100, 1e20, 1e21, 1e-7, 1.5e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                 -.greatestFiniteMagnitude, Double(Int64(9_007_199_254_740_993)), Double(Int64(123_456_789_012_345_678)),
                                 Double(Int64.max)]
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return special.randomElement(using: &random)!
        case 1: return Double(Int64.random(in: -1_000_000...1_000_000, using: &random))
        default: return Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &random) & ~(0x7FF << 52)
                               | UInt64.random(in: 0...0x7FE, using: &random) << 52)
        }
    }

    static func value(_ random: inout SeededRandom, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth < 3 ? 6 : 4), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(number(&random))
        case 3: return .string(string(&random))
        case 4: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) { members[string(&random)] = value(&random, depth: depth + 1) }
            return .object(members)
        }
    }

    static func date(_ random: inout SeededRandom) -> Date {
        Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &random)) / 1000)
    }

    static func device(_ random: inout SeededRandom) -> DevicesStore.Device {
        func maybe<T>(_ make: (inout SeededRandom) -> T) -> T? { Bool.random(using: &random) ? make(&random) : nil }
        return DevicesStore.Device(
            id: string(&random), kind: string(&random), name: maybe(string), tags: (0..<Int.random(in: 0...3, using: &random)).map { _ in string(&random) },
            metadata: Bool.random(using: &random) ? .object([:]) : .object(["k": value(&random), string(&random): value(&random)]),
            status: string(&random), statusChangedAt: maybe(date), lastSeen: maybe(date), version: maybe(string),
            bufferDepth: maybe { Int64.random(in: .min ... .max, using: &$0) }, dropped: maybe { Int64.random(in: .min ... .max, using: &$0) },
            createdAt: date(&random), revokedAt: maybe(date), decommissionedAt: maybe(date), certificateExpiresAt: maybe(date),
            certificateInUse: maybe(string), certificateInUseExpiresAt: maybe(date))
    }

    func direct(_ value: some JSONBodyEncodable) throws -> String {
        var body = JSONBody(capacity: 0)
        try value.write(to: &body)
        return String(decoding: body.bytes, as: UTF8.self)
    }

    func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
    }

    @Test("device pages: 300 random pages of hostile strings, metadata, huge numbers and dates", arguments: [1, 2, 3])
    func devicePages(seed: UInt64) throws {
        var random = SeededRandom(state: seed)
        for _ in 0..<100 {
            let page = Page(items: (0..<Int.random(in: 0...5, using: &random)).map { _ in Self.device(&random) },
                            nextCursor: Bool.random(using: &random) ? Self.string(&random) : nil)
            let (written, expected) = (try direct(page), try encoded(page))
            #expect(written == expected)
        }
    }

    @Test("readings pages: buckets and raw readings with extreme numbers")
    func readingsPages() throws {
        var random = SeededRandom(state: 7)
        for _ in 0..<200 {
            let buckets = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                ReadingsStore.Aggregate(start: Self.date(&random), avg: Self.number(&random), min: Self.number(&random),
                                        max: Self.number(&random), count: Int64.random(in: 0 ... .max, using: &random))
            }
            let page = ReadingsPage(device: Self.string(&random), metric: Self.string(&random), bucket: "1h", items: buckets,
                                    nextCursor: Bool.random(using: &random) ? "1764979200000000" : nil)
            #expect(try direct(page) == encoded(page))
            let raw = ReadingsPage(device: "d", metric: "m", bucket: "raw",
                                   items: [ReadingsStore.RawReading(ts: Self.date(&random), value: Self.number(&random))], nextCursor: nil)
            #expect(try direct(raw) == encoded(raw))
        }
    }

    @Test("fixed spellings: escapes, numbers without .0, sorted metadata keys, null members")
    func spellings() throws {
        let device = DevicesStore.Device(
            id: "a/b", kind: "meter", name: "q\"\\\u{0}\u{1F}é", tags: ["x"], metadata: .object(["b": .number(100), "a10": .number(-0.0), "a9": .number(1e21)]),
            status: "online", statusChangedAt: nil, lastSeen: nil, version: nil, bufferDepth: nil, dropped: 3,
            createdAt: Date(timeIntervalSince1970: 1_764_979_200.5), revokedAt: nil, decommissionedAt: nil, certificateExpiresAt: nil,
            certificateInUse: nil, certificateInUseExpiresAt: nil)
        let expected = #"{"bufferDepth":null,"certificateExpiresAt":null,"certificateInUse":null,"certificateInUseExpiresAt":null,"#
            + #""createdAt":"2025-12-06T00:00:00.500Z","decommissionedAt":null,"dropped":3,"id":"a/b","kind":"meter","lastSeen":null,"#
            + #""metadata":{"a10":-0,"a9":1e+21,"b":100},"name":"q\"\\\u0000\u001fé","revokedAt":null,"status":"online","#
            + #""statusChangedAt":null,"tags":["x"],"version":null}"#
        #expect(try direct(device) == expected)
        #expect(try encoded(device) == expected)
    }

    @Test("a non-finite number is refused by both")
    func nonFinite() {
        let page = ReadingsPage(device: "d", metric: "m", bucket: "raw", items: [ReadingsStore.RawReading(ts: Date(), value: .nan)], nextCursor: nil)
        #expect(throws: EncodingError.self) { try direct(page) }
        #expect(throws: EncodingError.self) { try encoded(page) }
    }
}
