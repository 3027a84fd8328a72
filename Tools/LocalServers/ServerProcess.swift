import Foundation
import OutpostProcess

/// A local server's process. It is only ever signalled by its own PID.
///
/// Spawned with `posix_spawn` and reaped with `waitpid`, so exit detection does not
/// depend on a run loop. Every PID is also written to `$TEST_HARNESS_PIDS_DIR` (a
/// directory, when set), so `make test` can end what a crashed test run left behind.
public final class ServerProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    public let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?
    private let pidFile: String?

    /// Starts `executable` with `arguments`, sending stdout and stderr to `logPath` (appended).
    public init(name: String, executable: String, arguments: [String], logPath: String, environment: [String: String]? = nil)
        throws
    {
        self.name = name
        self.logPath = logPath
        // Every other inherited descriptor closed: a server that kept the write end of another
        // test's `runTool` pipe would hold that reader until the server exits.
        let launch = ProcessLaunch(argv: [executable] + arguments, environment: environment.map(ProcessLaunch.entries),
                                   output: .file(path: logPath, truncate: false, mode: 0o644), errorOutput: .sameAsOutput)
        let child: pid_t
        do {
            child = try launch.spawn()
        } catch {
            throw HarnessError("posix_spawn \(executable) failed: \(error.reason)")
        }
        pid = child
        if let directory = ProcessInfo.processInfo.environment["TEST_HARNESS_PIDS_DIR"] {
            let file = (directory as NSString).appendingPathComponent("\(child)")
            _ = FileManager.default.createFile(atPath: file, contents: Data(name.utf8))
            pidFile = file
        } else {
            pidFile = nil
        }
    }

    /// Reaps the child if it has exited; true while it runs.
    public var isRunning: Bool {
        lock.withLock {
            guard exitStatus == nil else { return false }
            guard let reaped = ProcessSignal.reap(pid) else { return true }
            exitStatus = reaped.raw
            if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
            return false
        }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits (bounded) for the exit; SIGKILL after `timeout`. Returns the raw wait status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) async -> Int32 {
        if isRunning { ProcessSignal.send(signal, to: pid) }
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { ProcessSignal.send(SIGKILL, to: pid) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return lock.withLock { exitStatus ?? 0 }
    }

    /// `kill -9`, as a crash would.
    public func crash() async { await stop(signal: SIGKILL) }
}

/// Runs a tool to completion and returns its output (stdout and stderr together); throws on a
/// non-zero exit. The tool is waited for on a Dispatch thread (``ProcessRun``), so awaiting it
/// holds no thread of the cooperative pool and tests can run side by side.
@discardableResult
public func runTool(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> String {
    let outcome: ProcessRun.Outcome
    do {
        outcome = try await ProcessRun.run(toolLaunch(executable, arguments, environment))
    } catch {
        throw HarnessError("\(executable) \(arguments.joined(separator: " ")) could not start: \(error)")
    }
    return try toolOutput(executable, arguments, outcome)
}

private func toolLaunch(_ executable: String, _ arguments: [String], _ environment: [String: String]?) -> ProcessLaunch {
    ProcessLaunch(argv: [executable] + arguments, environment: environment.map(ProcessLaunch.entries), errorOutput: .sameAsOutput)
}

private func toolOutput(_ executable: String, _ arguments: [String], _ outcome: ProcessRun.Outcome) throws -> String {
    guard outcome.exitStatus == 0 else {
        let status = outcome.exitStatus.map { "exited \($0)" } ?? "was killed by a signal"
        throw HarnessError("\(executable) \(arguments.joined(separator: " ")) \(status): \(outcome.text)")
    }
    return outcome.text
}

/// The absolute path of a tool, searching `PATH` and then `extraDirectories`.
public func locateTool(_ name: String, extraDirectories: [String] = []) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + extraDirectories + ["/usr/sbin", "/sbin"] {
        let candidate = (directory as NSString).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw HarnessError("\(name) not found; run .ci/run or `make deps` to install it")
}
