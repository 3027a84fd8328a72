/// A UDP port range setting (`live.rtp_port_range`, `recording.rtp_port_range`).
enum PortRange {
    /// `low-high` within 1024-65535, low < high.
    static func parse(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1_024, parts[1] <= 65_535, parts[0] < parts[1] else { return nil }
        return parts[0]...parts[1]
    }
}
