import AggregatorTestSupport
import Foundation
import Testing
@testable import OutpostAggregator

/// ``RFC3339`` against `gmtime_r` formatted as the API did before (the reference), over
/// random instants from before year 1 to past year 9999, and fixed spellings.
@Suite("RFC 3339 timestamps written by calendar arithmetic: gmtime_r's")
struct RFC3339Tests {
    /// The API's formatting before ``RFC3339``: `gmtime_r`, fields padded as strings.
    static func reference(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let fraction = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(fraction), 3))Z"
    }

    static func written(_ date: Date) -> String {
        var bytes: [UInt8] = []
        RFC3339.append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("random instants, milliseconds and sub-millisecond fractions, years -9999 to 300,000")
    func random() {
        var random = SeededRandom(state: 20)
        let spans: [ClosedRange<Int64>] = [
            -2_000_000_000_000...4_000_000_000_000,  // 1906 to 2096
            -62_135_596_800_000 ... -62_135_596_700_000,  // around 0001-01-01
            -377_705_116_800_000...9_400_000_000_000_000,  // -9999 to about 300,000
            253_402_300_700_000...253_402_300_900_000,  // around 9999-12-31T23:59:59
        ]
        var mismatches: [String] = []
        for span in spans {
            for _ in 0..<5_000 {
                let milliseconds = Int64.random(in: span, using: &random)
                let fraction = Double(Int.random(in: 0..<1000, using: &random)) / 1000
                let date = Date(timeIntervalSince1970: (Double(milliseconds) + fraction) / 1000)
                if Self.written(date) != Self.reference(date) { mismatches.append("\(milliseconds): \(Self.written(date)) vs \(Self.reference(date))") }
            }
        }
        #expect(mismatches.prefix(5) == [])
    }

    @Test("fixed spellings: the epoch, a millisecond before it, leap days, year 0 and a negative year")
    func spellings() {
        #expect(Self.written(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Self.written(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        // -0.001 s is -1.0000000000000002 ms in binary: truncated, as before, to -2 ms.
        #expect(Self.written(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.998Z")
        #expect(Self.written(Date(timeIntervalSince1970: -0.0005)) == "1969-12-31T23:59:59.999Z")
        #expect(Self.written(Date(timeIntervalSince1970: 951_782_400.25)) == "2000-02-29T00:00:00.250Z")
        #expect(Self.written(Date(timeIntervalSince1970: 1_764_979_200.5)) == "2025-12-06T00:00:00.500Z")
        #expect(Self.written(Date(timeIntervalSince1970: -2_203_891_200)) == "1900-03-01T00:00:00.000Z")
        #expect(Self.written(Date(timeIntervalSince1970: -62_167_219_200)) == "0000-01-01T00:00:00.000Z")
        #expect(Self.written(Date(timeIntervalSince1970: -62_198_755_200)) == "00-1-01-01T00:00:00.000Z")
        #expect(Self.written(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000Z")
        #expect(APIJSON.timestamp(Date(timeIntervalSince1970: 1_764_979_200.5)) == "2025-12-06T00:00:00.500Z")
    }
}

/// ``RFC3339/parse(_:)`` against Foundation's `ISO8601DateFormatter` (the API's parser before,
/// with and without fractional seconds): it accepts a subset of what that accepted, the same
/// instant for each, and every RFC 3339 spelling of it.
@Suite("RFC 3339 timestamps read without a formatter: ISO8601DateFormatter's instants")
struct RFC3339ParseTests {
    /// The API's parsing before ``RFC3339/parse(_:)``.
    static func reference(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Whether `parsed` is the formatter's instant for `text`. The formatter truncated the
    /// fraction to milliseconds, so `parsed` is at most a millisecond later (and a few ulps
    /// either way: a year-4000 instant has about 15 µs of them).
    static func agrees(_ parsed: Date?, _ text: String) -> Bool {
        guard let parsed, let reference = reference(text) else { return parsed == nil && reference(text) == nil }
        let later = parsed.timeIntervalSince1970 - reference.timeIntervalSince1970
        return later > -0.000_05 && later < 0.001_05
    }

    /// 1583-01-01: the formatter's calendar is Julian before October 1582, RFC 3339's is
    /// proleptic Gregorian; the instants are compared from here on.
    static let gregorian = Date(timeIntervalSince1970: -12_219_292_800)

    static func pad(_ value: Int, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - String(value).count)) + String(value)
    }

    /// A random RFC 3339 spelling: any valid date and time of years 1583–9999, 0 to 9 fraction
    /// digits, `Z` or an offset.
    static func spelling(using random: inout SeededRandom) -> String {
        let year = Int.random(in: 1583...9999, using: &random), month = Int.random(in: 1...12, using: &random)
        let days = [31, year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(Int.random(in: 1...days, using: &random), 2))T"
            + "\(pad(Int.random(in: 0...23, using: &random), 2)):\(pad(Int.random(in: 0...59, using: &random), 2)):\(pad(Int.random(in: 0...59, using: &random), 2))"
        let fraction = Int.random(in: 0...9, using: &random)
        if fraction > 0 { text += "." + (0..<fraction).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined() }
        if Bool.random(using: &random) {
            text += "Z"
        } else {
            text += (Bool.random(using: &random) ? "+" : "-") + "\(pad(Int.random(in: 0...23, using: &random), 2)):\(pad(Int.random(in: 0...59, using: &random), 2))"
        }
        return text
    }

    @Test("random spellings: the formatter's instant to the millisecond, the fraction kept to the microsecond")
    func random() throws {
        var random = SeededRandom(state: 3339)
        var mismatches: [String] = []
        for _ in 0..<5_000 {
            let text = Self.spelling(using: &random)
            let parsed = RFC3339.parse(text)
            if parsed == nil || !Self.agrees(parsed, text) {
                mismatches.append("\(text): \(String(describing: parsed)) vs \(String(describing: Self.reference(text)))")
            }
            // Lower-case `t` and `z` are RFC 3339 too (the formatter refused them).
            #expect(RFC3339.parse(text.replacingOccurrences(of: "T", with: "t").replacingOccurrences(of: "Z", with: "z")) == parsed)
        }
        #expect(mismatches.prefix(5) == [])
        let micro = try #require(RFC3339.parse("2026-01-01T00:00:00.1234567Z"))
        #expect(ReadingsQuery.microseconds(micro) == 1_767_225_600_123_456)
        #expect(ReadingsQuery.microseconds(try #require(RFC3339.parse("1969-12-31T23:59:59.999999Z"))) == -1)
    }

    @Test("what the API writes reads back as the same microsecond (1970–2105; 0000–9999 within a Date’s precision)")
    func roundTrip() {
        var random = SeededRandom(state: 1970)
        var mismatches: [String] = []
        // A Date (a Double of seconds) holds every microsecond until 2106 (2^32 s); its ulp grows to 30 µs by 9999.
        for (span, tolerance) in [(0...4_294_967_295_999, Int64(0)), (-62_167_219_200_000...253_402_300_799_999, 64)] as [(ClosedRange<Int64>, Int64)] {
            for _ in 0..<5_000 {
                let milliseconds = Int64.random(in: span, using: &random)
                // Half a millisecond past it, so that the writer's truncation lands on it.
                let text = APIJSON.timestamp(Date(timeIntervalSince1970: (Double(milliseconds) + 0.5) / 1000))
                let microseconds = RFC3339.parse(text).map(ReadingsQuery.microseconds)
                if microseconds.map({ abs($0 - milliseconds * 1000) <= tolerance }) != true { mismatches.append(text) }
            }
        }
        #expect(mismatches.prefix(5) == [])
        #expect(RFC3339.parse("2026-01-01T00:00:00.123+05:30") == Date(timeIntervalSince1970: 1_767_205_800.123))
        #expect(RFC3339.parse("2024-02-29T23:59:59-00:00") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(RFC3339.parse("0000-01-01T00:00:00Z") == Date(timeIntervalSince1970: -62_167_219_200))
    }

    @Test("refused: ISO 8601 outside RFC 3339, impossible dates and times, surrounding bytes, hostile text")
    func refused() {
        let refused = [
            // Accepted by the formatter before, refused now.
            "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "12026-01-01T00:00:00Z", "26-01-01T00:00:00Z", " 2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z ", "2026-1-01T00:00:00Z", "2026-01-01T0:00:00Z", "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01",
            "2026-01-01T00:00:00+1:00", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00GMT",
            "2026-01-01T00:00:00UTC", "٢٠٢٦-01-01T00:00:00Z", "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
            // Refused before and now.
            "", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00,5Z",
            "+2026-01-01T00:00:00Z", "20260101T000000Z", "2026-01-01T00:00Z", "2026-01-01T00:00:00\u{0}Z", "2026-01-01T00:00:00Z\u{0}",
            "2026-01-01T00:00:00.5", "2026-01-01T00:00:00+", "2026-01-01T00:00:00+05:3", "2026-01-01T00:00:00*05:30",
            "2026-01-01T00:00:00Z" + String(repeating: "0", count: 10_000), "2026-01-01T00:00:00." + String(repeating: "9", count: 10_000),
            "2026-01-01T00:00:00🙂", "-001-01-01T00:00:00Z",
        ]
        #expect(refused.filter { RFC3339.parse($0) != nil } == [])
        // A fraction of any length is RFC 3339; past six digits it is truncated.
        #expect(RFC3339.parse("2026-01-01T00:00:00." + String(repeating: "9", count: 10_000) + "Z").map(ReadingsQuery.microseconds)
            == 1_767_225_600_999_999)
    }

    @Test("mutated spellings: whatever is accepted, the formatter accepted as the same instant")
    func mutated() {
        var random = SeededRandom(state: 8601)
        let alphabet = Array("0123456789-+:.TZtz ,Wé\u{0}".unicodeScalars)
        var disagreements: [String] = []
        for _ in 0..<5_000 {
            var scalars = Array(Self.spelling(using: &random).unicodeScalars)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<scalars.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: scalars[at] = alphabet.randomElement(using: &random)!
                case 1: scalars.insert(alphabet.randomElement(using: &random)!, at: at)
                default: if scalars.count > 1 { scalars.remove(at: at) }
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            // The formatter misread fractions of ten digits or more (13 digits of `.1234…` as 1 ms).
            let fraction = text.split(separator: ".").dropFirst().first?.prefix { $0.isASCII && $0.isNumber }.count ?? 0
            guard let parsed = RFC3339.parse(text), parsed >= Self.gregorian, fraction < 10 else { continue }
            let upper = text.replacingOccurrences(of: "t", with: "T").replacingOccurrences(of: "z", with: "Z")
            if !Self.agrees(parsed, upper) { disagreements.append(text) }
        }
        #expect(disagreements.prefix(5) == [])
    }
}
