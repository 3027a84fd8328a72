import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a child to completion and collects its stdout, off the Swift cooperative pool.
///
/// The reading and the blocking `waitpid` run on a Dispatch thread and the caller is resumed
/// through a continuation, so any number of runs can be awaited at once without starving the
/// pool. A deadline, an output cap or the cancellation of the awaiting task kills the child
/// (its whole group when it leads one).
public enum ProcessRun {
    public struct Outcome: Sendable {
        public var output: [UInt8]
        /// Exit status when it exited by itself, nil when killed.
        public var exitStatus: Int32?
        public var timedOut: Bool
        public var outputTooLarge: Bool

        /// The output as UTF-8 text.
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    /// Starts `launch` with its stdout on a pipe and waits for it to end.
    /// - Parameters:
    ///   - timeout: how long the child may run; nil for no limit.
    ///   - maxOutputBytes: how much output it may print; nil for no limit.
    public static func run(_ launch: ProcessLaunch, timeout: Duration? = nil, maxOutputBytes: Int? = nil)
        async throws(ProcessError) -> Outcome
    {
        let cancelled = CancelFlag()
        let result: Result<Outcome, ProcessError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: runBlocking(launch, timeout: timeout, maxOutputBytes: maxOutputBytes, cancelled: cancelled))
                }
            }
        } onCancel: {
            cancelled.value.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    /// Set when the awaiting task is cancelled: the child is killed at once.
    private final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private static func runBlocking(_ launch: ProcessLaunch, timeout: Duration?, maxOutputBytes: Int?, cancelled: CancelFlag)
        -> Result<Outcome, ProcessError>
    {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .failure(ProcessError(.pipeFailed, errorNumber: errno)) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Close-on-exec, so children started in parallel do not inherit each other's pipes.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var piped = launch
        piped.output = .descriptor(writeEnd)
        let child: pid_t
        do {
            child = try piped.spawn()
        } catch {
            close(writeEnd)
            close(readEnd)
            return .failure(error)
        }
        close(writeEnd)
        defer { close(readEnd) }
        let kill = { (signal: Int32) in
            launch.ownProcessGroup ? ProcessSignal.sendToGroup(signal, child) : ProcessSignal.send(signal, to: child)
        }

        let deadline = timeout.map { DispatchTime.now().uptimeNanoseconds + UInt64($0.components.seconds) * 1_000_000_000
            + UInt64($0.components.attoseconds / 1_000_000_000) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var timedOut = false, tooLarge = false
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard deadline.map({ now < $0 }) ?? true, !cancelled.value.load(ordering: .relaxed) else {
                timedOut = true
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min(100, deadline.map { ($0 - now) / 1_000_000 + 1 } ?? 100))
            let ready = poll(&poller, 1, waitMs)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
            if let maxOutputBytes, output.count > maxOutputBytes {
                tooLarge = true
                break
            }
        }
        if timedOut || tooLarge { kill(SIGKILL) }
        // EOF can come before the exit; the kill above makes this wait short otherwise.
        let status = ProcessSignal.wait(child)
        // Anything the child left running in its group.
        if launch.ownProcessGroup && !timedOut && !tooLarge { kill(SIGKILL) }
        return .success(Outcome(output: output, exitStatus: status.exitStatus, timedOut: timedOut, outputTooLarge: tooLarge))
    }
}
