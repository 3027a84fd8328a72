#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Signals and waits for a child, always by its own PID (or the group it leads), never by name.
public enum ProcessSignal {
    /// Sends `signal` to the child `pid`.
    public static func send(_ signal: Int32, to pid: pid_t) {
        kill(pid, signal)
    }

    /// Sends `signal` to the process group that `pid` leads (``ProcessLaunch/ownProcessGroup``).
    public static func sendToGroup(_ signal: Int32, _ pid: pid_t) {
        kill(-pid, signal)
    }

    /// Blocks until the child exits and returns its wait status (retrying on EINTR).
    /// Call it off the Swift cooperative pool (see ``ProcessRun``).
    public static func wait(_ pid: pid_t) -> WaitStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return WaitStatus(raw: status)
    }

    /// Reaps the child if it has exited, without blocking: its status then, nil while it runs.
    /// A child that is no longer ours to wait for counts as exited.
    public static func reap(_ pid: pid_t) -> WaitStatus? {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        return reaped == pid || reaped < 0 ? WaitStatus(raw: status) : nil
    }
}

/// A child's status as `waitpid` reports it.
public struct WaitStatus: Sendable, Equatable {
    public let raw: Int32

    public init(raw: Int32) { self.raw = raw }

    /// The exit status when the child exited by itself; nil when a signal ended it.
    public var exitStatus: Int32? { raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil }
}
