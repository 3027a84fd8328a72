import Foundation
import OutpostProcess

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
        // Nothing else of the aggregator's: an engine that outlives a killed aggregator would
        // otherwise keep its listening sockets and connections, and the next start could not bind.
        let launch = ProcessLaunch(argv: [executable] + arguments, environment: ["PATH=/usr/bin:/bin", "LC_ALL=C"],
                                   output: .file(path: logPath, truncate: true, mode: 0o600), errorOutput: .sameAsOutput,
                                   closeOthers: .required)
        let child: pid_t
        do {
            child = try launch.spawn()
        } catch where error.code == .closeFromUnavailable {
            throw RecordingError(.engineFailed, "posix_spawn_file_actions_addclosefrom_np failed")
        } catch {
            throw RecordingError(.engineFailed, "posix_spawn \(executable): \(error.reason)")
        }
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

    /// Whether this process's C library can close inherited descriptors in a spawned child
    /// (glibc 2.34 and later). Without it every spawn here fails, which is why
    /// ``MediaTools/check(_:spawnClosesDescriptors:)`` refuses to start recording.
    static let closesInheritedDescriptors = ProcessLaunch.closesInheritedDescriptors

    /// Reaps the child if it has exited; true while it runs.
    var isRunning: Bool {
        lock.withLock {
            guard status == nil else { return false }
            guard let reaped = ProcessSignal.reap(pid) else { return true }
            status = reaped.raw
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
        ProcessSignal.send(SIGTERM, to: pid)
        let deadline = ContinuousClock.now + timeout
        await Task {
            while isRunning {
                if ContinuousClock.now > deadline { ProcessSignal.send(SIGKILL, to: pid) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }.value
    }
}
