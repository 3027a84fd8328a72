/// A campaign failure that is not a broken invariant: a server that would not start, a
/// tool that failed, a wait that ran out. Equality compares the code.
public struct ChaosError: Error, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidDevice = "invalid_device"
        case unexpectedOutput = "unexpected_output"
        case bufferUnreadable = "buffer_unreadable"
        case setupFailed = "setup_failed"
        case restartFailed = "restart_failed"
        case timedOut = "timed_out"
        case toolMissing = "tool_missing"
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }

    public static func == (lhs: ChaosError, rhs: ChaosError) -> Bool { lhs.code == rhs.code }
}
