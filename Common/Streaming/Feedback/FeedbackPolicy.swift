/// Decides how the sender reacts to RTCP feedback, and counts what arrived. A value type:
/// time comes in as a monotonic nanosecond count, so the rules are tested without a clock.
///
/// - PLI and FIR ask for a keyframe; the sender answers by re-sending SPS/PPS at once, at
///   most once per ``minimumResendInterval`` (a burst of requests from one loss event
///   costs one resend). A FIR whose sequence number repeats the previous one from the same
///   requester is a retransmission of the same request (RFC 5104 §4.3.1.2) and is ignored.
/// - NACK names lost packets; those still in the history are re-sent, at most
///   ``maximumRetransmissionsPerNACK`` per NACK.
/// - REMB sets the target bitrate.
///
/// Feedback about another SSRC is counted as foreign and ignored.
public struct FeedbackPolicy: Sendable {
    public struct Counters: Sendable, Hashable {
        public var pli = 0
        public var fir = 0
        public var firDuplicates = 0
        public var nack = 0
        public var nackedPackets = 0
        public var remb = 0
        public var receiverReports = 0
        /// Report blocks about our SSRC; those whose LSR named an SR we sent; those that
        /// reported loss (fraction lost above 0, or cumulative loss above 0).
        public var reportBlocks = 0
        public var matchedLastSenderReports = 0
        public var lossReports = 0
        /// The largest fraction lost any report gave, in 1/256.
        public var peakFractionLost: UInt8 = 0
        public var senderReports = 0
        public var goodbyes = 0
        public var resendsRateLimited = 0
        public var foreign = 0
        public var unknown = 0
        public init() {}

        public var keyframeRequests: Int { pli + fir }
    }

    public let ssrc: UInt32
    /// Defaults to 250 ms.
    public var minimumResendInterval: Duration
    /// Defaults to 64.
    public var maximumRetransmissionsPerNACK: Int
    public private(set) var counters = Counters()
    /// The latest REMB, bits per second.
    public private(set) var lastREMB: UInt64?
    /// The latest report about our SSRC.
    public private(set) var lastReport: ReceptionReport?
    private var lastResendAt: UInt64?
    private var lastFIRSequence: [UInt32: UInt8] = [:]

    public init(ssrc: UInt32, minimumResendInterval: Duration = .milliseconds(250), maximumRetransmissionsPerNACK: Int = 64) {
        self.ssrc = ssrc
        self.minimumResendInterval = minimumResendInterval
        self.maximumRetransmissionsPerNACK = maximumRetransmissionsPerNACK
    }

    /// Handles one decoded packet received at monotonic time `now` (ns) and wall time `arrival`.
    public mutating func handle(_ packet: RTCPPacket, now: UInt64, arrival: NTPTimestamp, history: SenderReportHistory)
        -> [FeedbackAction]
    {
        switch packet {
        case .receiverReport(let report):
            counters.receiverReports += 1
            absorb(reporter: report.ssrc, blocks: report.reports, arrival: arrival, history: history)
            return []
        case .senderReport(let report):
            counters.senderReports += 1
            absorb(reporter: report.ssrc, blocks: report.reports, arrival: arrival, history: history)
            return []
        case .pictureLossIndication(let pli):
            guard isOurs(pli.mediaSSRC) else { return foreign() }
            counters.pli += 1
            return keyframeRequested(now: now)
        case .fullIntraRequest(let fir):
            guard let entry = fir.entries.first(where: { $0.ssrc == ssrc }) else { return foreign() }
            counters.fir += 1
            if lastFIRSequence[fir.senderSSRC] == entry.sequenceNumber {
                counters.firDuplicates += 1
                return []
            }
            if lastFIRSequence.count >= 256, lastFIRSequence[fir.senderSSRC] == nil { lastFIRSequence.removeAll() }
            lastFIRSequence[fir.senderSSRC] = entry.sequenceNumber
            return keyframeRequested(now: now)
        case .genericNACK(let nack):
            guard isOurs(nack.mediaSSRC) else { return foreign() }
            counters.nack += 1
            let lost = nack.lostSequenceNumbers
            counters.nackedPackets += lost.count
            return [.retransmit(Array(lost.prefix(maximumRetransmissionsPerNACK)))]
        case .receiverEstimatedMaximumBitrate(let remb):
            guard remb.ssrcs.isEmpty || remb.ssrcs.contains(ssrc) else { return foreign() }
            counters.remb += 1
            lastREMB = remb.bitrate
            return [.targetBitrate(remb.bitrate)]
        case .goodbye:
            counters.goodbyes += 1
            return []
        case .sourceDescription:
            return []
        case .unknown:
            counters.unknown += 1
            return []
        }
    }

    /// A PLI may name media SSRC 0 when the receiver knows only one stream.
    private func isOurs(_ mediaSSRC: UInt32) -> Bool { mediaSSRC == ssrc || mediaSSRC == 0 }

    private mutating func foreign() -> [FeedbackAction] {
        counters.foreign += 1
        return []
    }

    private mutating func keyframeRequested(now: UInt64) -> [FeedbackAction] {
        let interval = UInt64(minimumResendInterval.components.seconds) * 1_000_000_000
            + UInt64(minimumResendInterval.components.attoseconds / 1_000_000_000)
        if let last = lastResendAt, now &- last < interval {
            counters.resendsRateLimited += 1
            return []
        }
        lastResendAt = now
        return [.resendParameterSets]
    }

    private mutating func absorb(reporter: UInt32, blocks: [ReportBlock], arrival: NTPTimestamp, history: SenderReportHistory) {
        guard let block = blocks.first(where: { $0.ssrc == ssrc }) else { return }
        let report = ReceptionReport(reporterSSRC: reporter, block: block, arrival: arrival, history: history)
        counters.reportBlocks += 1
        if report.lastSenderReportMatched { counters.matchedLastSenderReports += 1 }
        if block.fractionLost > 0 || block.cumulativeLost > 0 { counters.lossReports += 1 }
        counters.peakFractionLost = max(counters.peakFractionLost, block.fractionLost)
        lastReport = report
    }
}
