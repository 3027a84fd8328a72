import Foundation

/// The API's timestamps: RFC 3339 in UTC with milliseconds (`2026-01-01T00:00:00.000Z`),
/// written as bytes from the date's milliseconds by calendar arithmetic (no formatter, no
/// `gmtime_r`, no intermediate strings): a device page writes about 600 of them.
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
