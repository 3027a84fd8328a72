#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a child process is started with `posix_spawn`: written once for every child of the
/// project (the agent's commands, the aggregator's media engines, the local servers).
///
/// Every child gets stdin from /dev/null, every signal unblocked and at its default action
/// (the parent's threads block or ignore SIGTERM for their own handlers, and a child would
/// inherit that and ignore the SIGTERM meant for it), and, where ``closeOthers`` says so,
/// no descriptor of the parent's beyond 0-2.
public struct ProcessLaunch: Sendable {
    /// Where the child's stdout goes.
    public enum Output: Sendable, Equatable {
        case devNull
        /// The file at `path`, created with `mode`; appended to, or truncated when `truncate`.
        case file(path: String, truncate: Bool, mode: mode_t)
        /// A descriptor of this process (a pipe's write end), duplicated to fd 1.
        case descriptor(Int32)
        /// This process's own stdout.
        case inherited
    }

    /// Where the child's stderr goes.
    public enum ErrorOutput: Sendable, Equatable {
        case devNull
        /// Wherever stdout goes.
        case sameAsOutput
        /// This process's own stderr.
        case inherited
    }

    /// What happens to this process's descriptors from 3 up.
    public enum CloseOthers: Sendable, Equatable {
        /// Closed where the C library can (glibc 2.34+), inherited elsewhere: for children whose
        /// own descriptors are all close-on-exec anyway.
        case whereSupported
        /// Closed, or the spawn fails with ``ProcessError/Code/closeFromUnavailable``.
        case required
    }

    /// The executable first, then its arguments.
    public var argv: [String]
    /// `KEY=value` entries; nil passes this process's environment on.
    public var environment: [String]?
    public var output: Output
    public var errorOutput: ErrorOutput
    /// The child leads a process group of its own, so that ``ProcessSignal/sendToGroup(_:_:)``
    /// ends it and everything it started.
    public var ownProcessGroup: Bool
    /// Look the executable up in `PATH` (`posix_spawnp`) instead of taking it as a path.
    public var searchPath: Bool
    public var closeOthers: CloseOthers

    public init(argv: [String], environment: [String]? = nil, output: Output = .devNull, errorOutput: ErrorOutput = .devNull,
                ownProcessGroup: Bool = false, searchPath: Bool = false, closeOthers: CloseOthers = .whereSupported)
    {
        precondition(!argv.isEmpty, "a process needs an executable")
        self.argv = argv
        self.environment = environment
        self.output = output
        self.errorOutput = errorOutput
        self.ownProcessGroup = ownProcessGroup
        self.searchPath = searchPath
        self.closeOthers = closeOthers
    }

    /// `environment` as `KEY=value` entries.
    public static func entries(_ environment: [String: String]) -> [String] {
        environment.map { "\($0.key)=\($0.value)" }
    }

    /// Whether this C library can close the parent's descriptors in a child
    /// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34 and later).
    public static var closesInheritedDescriptors: Bool { addCloseFrom != nil }

    /// Starts the child and returns its PID.
    public func spawn() throws(ProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .devNull: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .file(let path, let truncate, let mode):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : O_APPEND), mode)
        case .descriptor(let descriptor): posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        case .inherited: break
        }
        switch errorOutput {
        case .devNull: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .sameAsOutput: posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .inherited: break
        }
        if let addCloseFrom = Self.addCloseFrom {
            let rc = addCloseFrom(&actions, 3)
            if rc != 0 && closeOthers == .required { throw ProcessError(.closeFromUnavailable, errorNumber: rc) }
        } else if closeOthers == .required {
            throw ProcessError(.closeFromUnavailable, errorNumber: ENOSYS)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let rc: Int32
        if let environment {
            let cEnvironment = environment.map { strdup($0) } + [nil]
            defer { cEnvironment.forEach { free($0) } }
            rc = searchPath
                ? posix_spawnp(&child, argv[0], &actions, &attributes, cArguments, cEnvironment)
                : posix_spawn(&child, argv[0], &actions, &attributes, cArguments, cEnvironment)
        } else {
            rc = searchPath
                ? posix_spawnp(&child, argv[0], &actions, &attributes, cArguments, environ)
                : posix_spawn(&child, argv[0], &actions, &attributes, cArguments, environ)
        }
        guard rc == 0 else { throw ProcessError(.spawnFailed, errorNumber: rc) }
        return child
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, which the Swift Glibc module does
    /// not export; looked up once at run time.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
