import Foundation

/// The media engine as a child process, signalled only by its own PID.
///
/// Spawned with `posix_spawn` with every signal unblocked and at its default action: the
/// aggregator's threads block or ignore SIGTERM for the service group's handler, and a child
/// that inherited that would ignore the SIGTERM that makes ffmpeg close its segment. It gets
/// stdin, stdout and stderr only.
final class EngineProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?
    private let recordPath: String?

    /// Starts `executable` with stdin from /dev/null and stdout and stderr to `logPath`
    /// (truncated). With `record`, writes an ``EngineRecord`` there (removed once the child is
    /// reaped), so that a later aggregator can end this engine if this one is killed.
    init(executable: String, arguments: [String], logPath: String, record: (path: String, device: String, runPrefix: String)? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the aggregator's: an engine that outlives a killed aggregator would
        // otherwise keep its listening sockets and connections, and the next start could not bind.
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw RecordingError(.engineFailed, "posix_spawn_file_actions_addclosefrom_np failed") }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables: [String] = ["PATH=/usr/bin:/bin", "LC_ALL=C"]
        let environment = variables.map { strdup($0) } + [nil]
        defer { environment.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environment)
        guard rc == 0 else { throw RecordingError(.engineFailed, "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        pid = child
        recordPath = record?.path
        if let record {
            let entry = EngineRecord(device: record.device, runPrefix: record.runPrefix, pid: child,
                                     startTime: ProcFS.startTime(pid: child) ?? 0, executable: ProcFS.resolved(executable),
                                     ownerPID: getpid(), ownerStartTime: ProcFS.startTime(pid: getpid()) ?? 0)
            let temporary = record.path + ".tmp"
            if FileManager.default.createFile(atPath: temporary, contents: Data(entry.encoded.utf8), attributes: [.posixPermissions: 0o600]) {
                _ = rename(temporary, record.path)
            }
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc
    /// module does not import; looked up once. An older glibc fails every spawn here, which is
    /// why ``MediaTools/check(_:spawnClosesDescriptors:)`` refuses to start recording without it.
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = addCloseFromSymbol() else { return { _, _ in ENOSYS } }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func addCloseFromSymbol() -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    }

    /// Whether this process's C library can close inherited descriptors in a spawned child.
    static let closesInheritedDescriptors = addCloseFromSymbol() != nil

    /// Reaps the child if it has exited; true while it runs.
    var isRunning: Bool {
        lock.withLock {
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            guard reaped == pid || reaped < 0 else { return true }
            status = raw
            if let recordPath { unlink(recordPath) }
            return false
        }
    }

    /// The raw wait status once it has exited.
    var exitStatus: Int32 { lock.withLock { status ?? 0 } }

    /// SIGTERM (ffmpeg closes its segment and exits), SIGKILL after `timeout`. Not cancellable:
    /// the wait is bounded and must end with the child reaped.
    func terminate(timeout: Duration = .seconds(10)) async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        await Task {
            while isRunning {
                if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }.value
    }
}
