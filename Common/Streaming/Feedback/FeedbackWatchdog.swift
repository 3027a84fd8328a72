/// Notices when a receiver that should send RTCP goes quiet.
///
/// Armed only when feedback is expected (ffmpeg, for one, sends none). Silence is measured
/// from the stream's start until the first feedback, then from the latest. It reports the
/// loss once and the recovery once.
public struct FeedbackWatchdog: Sendable {
    public enum Policy: String, Sendable, Codable, CaseIterable {
        /// Report, and keep streaming.
        case `continue`
        /// Report, and end the stream.
        case stop
    }

    public enum Transition: Sendable, Hashable {
        case lost(silentFor: Duration)
        case resumed
    }

    public let timeout: Duration
    private var lastHeard: UInt64
    private var silent = false

    public init(timeout: Duration, startedAt now: UInt64) {
        self.timeout = timeout
        lastHeard = now
    }

    public var isSilent: Bool { silent }

    /// Feedback arrived at `now`.
    public mutating func heard(at now: UInt64) -> Transition? {
        lastHeard = now
        guard silent else { return nil }
        silent = false
        return .resumed
    }

    /// Checks the clock; returns `.lost` the first time the silence exceeds the timeout.
    public mutating func check(now: UInt64) -> Transition? {
        let silence = Duration.nanoseconds(Int64(clamping: now &- lastHeard))
        guard !silent, now >= lastHeard, silence > timeout else { return nil }
        silent = true
        return .lost(silentFor: silence)
    }

    /// The monotonic time (ns) at which ``check(now:)`` could next report, if armed.
    public var deadline: UInt64? {
        guard !silent else { return nil }
        return lastHeard + UInt64(timeout.components.seconds) * 1_000_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000)
    }
}
