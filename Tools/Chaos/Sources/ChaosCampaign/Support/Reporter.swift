import Foundation

/// Prints the campaign's lines, each stamped with the seconds since the campaign began,
/// straight to stdout (unbuffered, so a CI log shows them as they happen).
public final class Reporter: Sendable {
    public let start: ContinuousClock.Instant

    public init(start: ContinuousClock.Instant = .now) { self.start = start }

    public var elapsed: Double { Self.seconds(ContinuousClock.now - start) }

    public func line(_ text: String) {
        FileHandle.standardOutput.write(Data("[\(Self.format(elapsed, width: 7))s] \(text)\n".utf8))
    }

    /// A line without a time stamp (the summary table).
    public func plain(_ text: String) {
        FileHandle.standardOutput.write(Data("\(text)\n".utf8))
    }

    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `value` with one decimal, right-aligned to `width`.
    public static func format(_ value: Double, width: Int = 0) -> String {
        let text = String(format: "%.1f", value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
