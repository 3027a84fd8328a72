/// The RTCP transmission interval of RFC 3550 §6.3.1 and Appendix A.7, for a sender.
///
/// RTCP gets 5% of the session bandwidth; senders share a quarter of that when they are at
/// most a quarter of the members. The deterministic interval is never below the minimum
/// (5 s by default, halved for the first report); the actual interval is randomized over
/// [0.5, 1.5] of it and divided by e − 3/2 to compensate for timer reconsideration.
public struct RTCPInterval: Sendable, Equatable {
    /// The minimum interval. RFC 3550 recommends 5 s; §6.2 allows a smaller "reduced
    /// minimum" of 360 / (session bandwidth in kbit/s) seconds.
    public var minimum: Duration
    /// The fraction of session bandwidth RTCP may use. Defaults to 5%.
    public var rtcpFraction: Double

    public init(minimum: Duration = .seconds(5), rtcpFraction: Double = 0.05) {
        self.minimum = minimum
        self.rtcpFraction = rtcpFraction
    }

    /// The deterministic interval in seconds, before randomization.
    /// - Parameters:
    ///   - sessionBandwidth: bytes per second of the whole session (our sending rate).
    ///   - averagePacketSize: the average compound RTCP size in bytes, including UDP/IP overhead.
    public func deterministic(members: Int, senders: Int, weSent: Bool, initial: Bool, sessionBandwidth: Double,
                              averagePacketSize: Double) -> Double
    {
        let rtcpBandwidth = max(sessionBandwidth * rtcpFraction, 1)
        var minimumSeconds = Double(minimum.components.seconds) + Double(minimum.components.attoseconds) / 1e18
        if initial { minimumSeconds /= 2 }
        var bandwidth = rtcpBandwidth
        var count = Double(max(members, 1))
        if senders > 0, Double(senders) <= Double(members) * 0.25 {
            if weSent {
                bandwidth *= 0.25
                count = Double(senders)
            } else {
                bandwidth *= 0.75
                count -= Double(senders)
            }
        }
        return max(averagePacketSize * count / bandwidth, minimumSeconds)
    }

    /// The delay before the first report: half the minimum (RFC 3550 §6.2). Before anything
    /// was sent the session bandwidth is unknown, and the bandwidth term would push the first
    /// report to the end of a short stream, so a receiver could never match its LSR.
    public var initialDelay: Duration { minimum / 2 }

    /// The randomized interval for a `unit` drawn uniformly from [0, 1].
    public func randomized(deterministic: Double, unit: Double) -> Duration {
        let compensation = 2.718281828459045 - 1.5
        return .nanoseconds(Int64(deterministic * (0.5 + unit) / compensation * 1e9))
    }
}
