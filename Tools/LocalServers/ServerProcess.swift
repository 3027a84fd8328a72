import Foundation

/// A child process the harness started. It is only ever signalled by its own PID.
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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Close every other inherited descriptor: a server that kept the write end of
        // another test's `runTool` pipe would hold that reader until the server exits.
        closeInheritedDescriptors(&actions)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        // Threads of the test runner block signals; without a reset the child would inherit
        // that mask and ignore SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, env)
        guard rc == 0 else { throw HarnessError("posix_spawn \(executable) failed: \(String(cString: strerror(rc)))") }
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
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || reaped < 0 {
                exitStatus = status
                if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
                return false
            }
            return true
        }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits (bounded) for the exit; SIGKILL after `timeout`. Returns the raw wait status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) async -> Int32 {
        if isRunning { kill(pid, signal) }
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return lock.withLock { exitStatus ?? 0 }
    }

    /// `kill -9`, as a crash would.
    public func crash() async { await stop(signal: SIGKILL) }
}

/// Adds "close every descriptor from 3 up" to `actions` (glibc 2.34+'s
/// `posix_spawn_file_actions_addclosefrom_np`, which the Swift Glibc module does not
/// export, so it is looked up at run time; without it the child inherits them as before).
private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
    _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
}

/// Runs a tool to completion and returns its output; throws on a non-zero exit.
@discardableResult
public func runTool(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw HarnessError("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
    }
    return output
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
