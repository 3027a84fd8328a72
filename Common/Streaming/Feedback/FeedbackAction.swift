/// What the sender should do about a piece of RTCP feedback. Decided by ``FeedbackPolicy``.
public enum FeedbackAction: Sendable, Hashable {
    /// Send SPS and PPS now (a PLI or a new FIR arrived).
    case resendParameterSets
    /// Re-send these packets from the history (a NACK arrived).
    case retransmit([UInt16])
    /// The receiver's estimate of the bandwidth, in bits per second (a REMB arrived).
    case targetBitrate(UInt64)
}
