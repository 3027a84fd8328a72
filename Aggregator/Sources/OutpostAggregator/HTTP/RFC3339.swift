import Foundation

/// The API's timestamps: RFC 3339 in UTC with milliseconds (`2026-01-01T00:00:00.000Z`),
/// written as bytes from the date's milliseconds by calendar arithmetic (no formatter, no
/// `gmtime_r`, no intermediate strings): a device page writes about 600 of them. Query
/// parameters are read back the same way (``parse(_:)``).
enum RFC3339 {
    /// Appends `date`, truncated to the millisecond, without quotes.
    static func append(_ date: Date, to bytes: inout [UInt8]) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = floorDivide(milliseconds, 1000)
        let days = floorDivide(seconds, 86_400)
        let (year, month, day) = civil(days: days)
        let secondOfDay = seconds - days * 86_400
        year4(year, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        digits(milliseconds - seconds * 1000, 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// An RFC 3339 `date-time` (section 5.6: `2026-01-01T00:00:00Z`, `…T00:00:00.5+05:30`,
    /// `T` and `Z` in either case), its fraction truncated to the microsecond (PostgreSQL's
    /// precision); nil for anything else, including an impossible date or time, a leap second
    /// (a `Date` cannot name one) and the ISO 8601 spellings outside RFC 3339 (`+0100`, `+01`,
    /// a space for `T`). Foundation's `ISO8601DateFormatter`, used before, built an ICU
    /// formatter per call (a fifth of the aggregator's CPU for a bucketed readings request)
    /// and accepted much more (`2026-02-30`, `12026-01-01`, surrounding spaces, `GMT`).
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    private static func parse(utf8 text: UnsafeBufferPointer<UInt8>) -> Date? {
        var at = 0
        /// `count` ASCII digits as a number, or nil.
        func number(_ count: Int) -> Int64? {
            guard at + count <= text.count else { return nil }
            var value: Int64 = 0
            for byte in text[at..<at + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            at += count
            return value
        }
        func take(_ expected: UInt8...) -> Bool {
            guard at < text.count, expected.contains(text[at]) else { return false }
            at += 1
            return true
        }
        guard let year = number(4), take(UInt8(ascii: "-")), let month = number(2), take(UInt8(ascii: "-")), let day = number(2),
              take(UInt8(ascii: "T"), UInt8(ascii: "t")),
              let hour = number(2), take(UInt8(ascii: ":")), let minute = number(2), take(UInt8(ascii: ":")), let second = number(2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var microseconds: Int64 = 0
        if take(UInt8(ascii: ".")) {
            var digits = 0
            while at < text.count, text[at] >= UInt8(ascii: "0"), text[at] <= UInt8(ascii: "9") {
                if digits < 6 { microseconds = microseconds * 10 + Int64(text[at] - UInt8(ascii: "0")) }
                digits += 1
                at += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { microseconds *= 10 }
        }
        var offset: Int64 = 0
        if !take(UInt8(ascii: "Z"), UInt8(ascii: "z")) {
            guard at < text.count else { return nil }
            let sign: Int64 = text[at] == UInt8(ascii: "+") ? 1 : text[at] == UInt8(ascii: "-") ? -1 : 0
            at += 1
            guard sign != 0, let offsetHour = number(2), take(UInt8(ascii: ":")), let offsetMinute = number(2),
                  offsetHour < 24, offsetMinute < 60
            else { return nil }
            offset = sign * (offsetHour * 3600 + offsetMinute * 60)
        }
        guard at == text.count else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds * 1_000_000 + microseconds) / 1_000_000)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`,
    /// the inverse of ``civil(days:)``).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (H. Hinnant's
    /// `civil_from_days`).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    /// `value` (0 ≤ value < 10^width) in exactly `width` digits.
    private static func digits(_ value: Int64, _ width: Int, to bytes: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// The year left-padded with zeros to four characters, as `String(year)` padded (so a
    /// year past 9999 has more digits and a year before 1 keeps its sign after the zeros).
    private static func year4(_ year: Int64, to bytes: inout [UInt8]) {
        if (0...9999).contains(year) { return digits(year, 4, to: &bytes) }
        let text = String(year)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, 4 - text.utf8.count)))
        bytes.append(contentsOf: text.utf8)
    }
}
