import OutpostSupport
import OutpostStreaming

/// A stream's counters and the receiver's latest view of it.
public struct StreamStatistics: Sendable, Hashable {
    public var ssrc: UInt32 = 0
    public var durationSeconds: Double = 0
    public var packetsSent = 0
    /// RTP bytes sent, headers included.
    public var bytesSent = 0
    /// Over the latest stats interval.
    public var bitrateKbps: Double = 0
    public var accessUnits = 0
    public var idrPictures = 0
    public var sendErrors = 0
    public var parameterSetResends = 0
    public var retransmittedPackets = 0
    /// NACKed packets no longer in the history.
    public var retransmissionMisses = 0
    /// NACKed packets not re-sent because the retransmission budget was spent.
    public var retransmissionsLimited = 0
    public var rtcpSent = 0
    public var rtcpReceived = 0
    /// RTCP packets refused by the decoder, by error code.
    public var rtcpErrors: [String: Int] = [:]
    public var feedback = FeedbackPolicy.Counters()
    /// The latest receiver report about this stream.
    public var lastReport: ReceptionReport?
    /// The latest REMB, bits/s.
    public var rembBitrate: UInt64?
    /// The bitrate the source runs at, when it can adapt.
    public var sourceBitrate: UInt64?
    /// Command restarts (for a new bitrate) and FIFO re-opens.
    public var sourceRestarts = 0
    /// Times a looped file started over.
    public var loops = 0
    public var oversizedNALUnits = 0
    public var feedbackSilent = false

    public init() {}

    /// The `data` of a `stream_stats` event.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "ssrc": .number(Double(ssrc)),
            "durationSeconds": .number((durationSeconds * 10).rounded() / 10),
            "packets": .number(Double(packetsSent)),
            "bytes": .number(Double(bytesSent)),
            "bitrateKbps": .number(bitrateKbps.rounded()),
            "accessUnits": .number(Double(accessUnits)),
            "idrPictures": .number(Double(idrPictures)),
            "sendErrors": .number(Double(sendErrors)),
            "keyframeRequests": .number(Double(feedback.keyframeRequests)),
            "pli": .number(Double(feedback.pli)),
            "fir": .number(Double(feedback.fir)),
            "firDuplicates": .number(Double(feedback.firDuplicates)),
            "nack": .number(Double(feedback.nack)),
            "nackedPackets": .number(Double(feedback.nackedPackets)),
            "remb": .number(Double(feedback.remb)),
            "receiverReports": .number(Double(feedback.receiverReports)),
            "lossReports": .number(Double(feedback.lossReports)),
            "peakLossFraction": .number(Double(feedback.peakFractionLost) / 256),
            "parameterSetResends": .number(Double(parameterSetResends)),
            "retransmitted": .number(Double(retransmittedPackets)),
            "retransmissionMisses": .number(Double(retransmissionMisses)),
            "retransmissionsLimited": .number(Double(retransmissionsLimited)),
            "rtcpSent": .number(Double(rtcpSent)),
            "rtcpReceived": .number(Double(rtcpReceived)),
            "rtcpErrors": .number(Double(rtcpErrors.values.reduce(0, +))),
            "sourceRestarts": .number(Double(sourceRestarts)),
            "loops": .number(Double(loops)),
            "oversizedNalUnits": .number(Double(oversizedNALUnits)),
            "feedbackSilent": .bool(feedbackSilent),
        ]
        if let report = lastReport {
            object["lossFraction"] = .number(report.fractionLost)
            object["cumulativeLost"] = .number(Double(report.cumulativeLost))
            object["jitterMs"] = .number((report.jitterMilliseconds * 10).rounded() / 10)
            object["lsrMatched"] = .bool(report.lastSenderReportMatched)
            if let rtt = report.roundTripMilliseconds { object["rttMs"] = .number((rtt * 10).rounded() / 10) }
        }
        if let rembBitrate { object["rembBps"] = .number(Double(rembBitrate)) }
        if let sourceBitrate { object["sourceBitrateBps"] = .number(Double(sourceBitrate)) }
        return .object(object)
    }
}
