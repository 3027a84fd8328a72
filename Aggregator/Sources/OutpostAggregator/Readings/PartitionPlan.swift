#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which daily partitions of `readings` should exist on a given day, and which are past retention.
public struct PartitionPlan: Sendable, Equatable {
    /// UTC days, as `YYYY-MM-DD`, that must have a partition.
    public var days: [String]
    /// Partitions of days before this one (`YYYY-MM-DD`) are dropped; nil keeps everything.
    public var retentionHorizon: String?

    public init(today: Date, settings: ReadingsSettings) {
        let todayIndex = Self.dayIndex(today)
        days = ((todayIndex - settings.partitionsBehindDays)...(todayIndex + settings.partitionsAheadDays)).map(Self.format)
        retentionHorizon = settings.retentionDays > 0 ? Self.format(todayIndex - settings.retentionDays) : nil
        // Never create a partition that retention would drop at once.
        if let horizon = retentionHorizon { days.removeAll { $0 < horizon } }
    }

    /// Days since 1970-01-01 (UTC).
    static func dayIndex(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// `YYYY-MM-DD` of a day index (``RFC3339/civil(days:)``: no calendar or locale involved).
    static func format(_ dayIndex: Int) -> String {
        let (year, month, day) = RFC3339.civil(days: Int64(dayIndex))
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
