#if canImport(Glibc)
import Glibc
#endif
import OutpostStreaming

/// A command's stdout. The command runs in its own process group, so stopping it ends a
/// whole pipeline the command may have started, and nothing else.
final class CommandByteSource: ByteSource {
    private let template: [String]
    private var bitrate: UInt64
    private var pid: pid_t = 0
    private var fd: Int32 = -1
    let isPaced = false
    var pollDescriptor: Int32? { fd }
    /// Times the command was started again (after a bitrate change).
    private(set) var restarts = 0

    init(arguments: [String], bitrate: UInt64) throws(StreamError) {
        template = arguments
        self.bitrate = bitrate
        try spawn()
    }

    /// The command line with placeholders filled in.
    static func expand(_ template: [String], bitrate: UInt64) -> [String] {
        template.map {
            $0.replacing("{bitrate_kbps}", with: String(bitrate / 1000))
                .replacing("{bitrate}", with: String(bitrate))
        }
    }

    private func spawn() throws(StreamError) {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw StreamError(.sourceFailed, "pipe: \(String(cString: strerror(errno)))") }
        pipeFDs.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        let arguments = Self.expand(template, bitrate: bitrate)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Threads of this process block signals; reset the mask so the command obeys SIGTERM.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, environ)
        Glibc.close(pipeFDs[1])
        guard rc == 0 else {
            Glibc.close(pipeFDs[0])
            throw StreamError(.sourceFailed, "cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        _ = fcntl(pipeFDs[0], F_SETFL, fcntl(pipeFDs[0], F_GETFL) | O_NONBLOCK)
        pid = child
        fd = pipeFDs[0]
    }

    func read(into buffer: inout [UInt8]) throws(StreamError) -> Int? { try readDescriptor(fd, into: &buffer) }

    /// A command that ended has ended the stream.
    func restartAfterEnd() throws(StreamError) -> Bool { false }

    func apply(bitrate: UInt64) throws(StreamError) -> Bool {
        guard template.contains(where: { $0.contains("{bitrate") }) else { return false }
        terminate()
        self.bitrate = bitrate
        try spawn()
        restarts += 1
        return true
    }

    func close() { terminate() }

    /// SIGTERM to the command's process group, SIGKILL after 2 s, reap, then close the pipe
    /// (closing first would greet the encoder with EPIPE instead of a clean stop).
    private func terminate() {
        if pid > 0 {
            kill(-pid, SIGTERM)
            var status: Int32 = 0
            var reaped = false
            for _ in 0..<200 where !reaped {
                if waitpid(pid, &status, WNOHANG) != 0 {
                    reaped = true
                } else {
                    usleep(10_000)
                }
            }
            if !reaped {
                kill(-pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
            pid = 0
        }
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
