import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a command to completion with a deadline and an output cap, off the async pool.
///
/// The child gets its own process group, so a timeout or an over-long output kills the
/// command and everything it started (`kill(-pgid, SIGKILL)`). stdin and stderr are
/// /dev/null; signal dispositions are reset so the child is not born ignoring SIGTERM.
enum ChildProcess {
    struct Outcome: Sendable {
        var output: [UInt8]
        /// Exit status when it exited by itself, nil when killed.
        var exitStatus: Int32?
        var timedOut: Bool
        var outputTooLarge: Bool
    }

    static func run(_ argv: [String], timeout: Duration, maxOutputBytes: Int) async throws(SourceError) -> Outcome {
        let cancelled = CancelFlag()
        let result: Result<Outcome, SourceError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: runBlocking(argv, timeout: timeout, maxOutputBytes: maxOutputBytes, cancelled: cancelled))
                }
            }
        } onCancel: {
            cancelled.value.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    /// Set when the collecting task is cancelled (shutdown): the command is killed at once.
    private final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private static func runBlocking(_ argv: [String], timeout: Duration, maxOutputBytes: Int, cancelled: CancelFlag)
        -> Result<Outcome, SourceError>
    {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            return .failure(SourceError(.spawnFailed, "pipe: \(String(cString: strerror(errno)))"))
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Close-on-exec, so commands running in parallel do not inherit each other's pipes.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, &attributes, cArgs, environ)
        close(writeEnd)
        guard rc == 0 else {
            close(readEnd)
            return .failure(SourceError(.spawnFailed, "\(argv[0]): \(String(cString: strerror(rc)))"))
        }
        defer { close(readEnd) }

        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var timedOut = false, tooLarge = false
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline, !cancelled.value.load(ordering: .relaxed) else {
                timedOut = true
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min(100, (deadline - now) / 1_000_000 + 1))
            let ready = poll(&poller, 1, waitMs)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
            if output.count > maxOutputBytes {
                tooLarge = true
                break
            }
        }
        if timedOut || tooLarge { kill(-child, SIGKILL) }
        var status: Int32 = 0
        // EOF can come before the exit; the kill above makes this wait short otherwise.
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        if !timedOut && !tooLarge { kill(-child, SIGKILL) }  // anything it left running in its group
        let exited = (status & 0x7f) == 0
        return .success(Outcome(
            output: output, exitStatus: exited ? (status >> 8) & 0xff : nil, timedOut: timedOut, outputTooLarge: tooLarge))
    }
}
