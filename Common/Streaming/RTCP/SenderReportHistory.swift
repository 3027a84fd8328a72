/// The sender reports recently sent, so an LSR in a receiver report can be matched to one
/// of them and the round-trip time trusted (RFC 3550 §6.4.1).
public struct SenderReportHistory: Sendable {
    /// Defaults to 32 reports: minutes of history at the standard interval.
    public let capacity: Int
    private var sent: [UInt32] = []

    public init(capacity: Int = 32) { self.capacity = capacity }

    public mutating func record(_ ntp: NTPTimestamp) {
        sent.append(ntp.compact)
        if sent.count > capacity { sent.removeFirst(sent.count - capacity) }
    }

    /// True when `lastSenderReport` is the compact timestamp of a report we sent.
    public func contains(lastSenderReport: UInt32) -> Bool { sent.contains(lastSenderReport) }

    public var count: Int { sent.count }
}
