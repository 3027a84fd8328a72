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
