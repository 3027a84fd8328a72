import OutpostSupport

/// A campaign failure that is not a broken invariant: a server that would not start, a
/// tool that failed, a wait that ran out. Equality compares the code.
public typealias ChaosError = CodedError<ChaosErrorCode>

/// The stable codes of ``ChaosError``.
public enum ChaosErrorCode: String, ErrorCode {
    case invalidDevice = "invalid_device"
    case unexpectedOutput = "unexpected_output"
    case bufferUnreadable = "buffer_unreadable"
    case setupFailed = "setup_failed"
    case restartFailed = "restart_failed"
    case timedOut = "timed_out"
    case toolMissing = "tool_missing"
}
