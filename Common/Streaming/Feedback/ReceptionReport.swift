/// What a receiver said about our stream in its latest report block, interpreted.
public struct ReceptionReport: Sendable, Hashable {
    public var reporterSSRC: UInt32
    /// Since the reporter's previous report, 0…1.
    public var fractionLost: Double
    public var cumulativeLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter in milliseconds (RTP units / 90).
    public var jitterMilliseconds: Double
    /// The LSR field, 0 when the receiver has had no SR yet.
    public var lastSenderReport: UInt32
    /// True when LSR names an SR this sender sent.
    public var lastSenderReportMatched: Bool
    /// Round-trip time from LSR and DLSR, when LSR matched.
    public var roundTripMilliseconds: Double?

    /// Interprets `block` (about our SSRC) that arrived at `arrival`.
    public init(reporterSSRC: UInt32, block: ReportBlock, arrival: NTPTimestamp, history: SenderReportHistory) {
        self.reporterSSRC = reporterSSRC
        fractionLost = Double(block.fractionLost) / 256
        cumulativeLost = block.cumulativeLost
        extendedHighestSequenceNumber = block.extendedHighestSequenceNumber
        jitterMilliseconds = Double(block.jitter) * 1000 / Double(H264Packetizer.clockRate)
        lastSenderReport = block.lastSenderReport
        lastSenderReportMatched = block.lastSenderReport != 0 && history.contains(lastSenderReport: block.lastSenderReport)
        if lastSenderReportMatched {
            let units = arrival.compact &- block.lastSenderReport &- block.delaySinceLastSenderReport
            // A negative round trip (clock steps, DLSR rounding) wraps to a huge value: clamp to 0.
            roundTripMilliseconds = units > 0x8000_0000 ? 0 : Double(units) / 65.536
        } else {
            roundTripMilliseconds = nil
        }
    }
}
