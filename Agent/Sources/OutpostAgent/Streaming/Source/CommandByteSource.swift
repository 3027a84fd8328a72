#if canImport(Glibc)
import Glibc
#endif
import OutpostProcess
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
        let launch = ProcessLaunch(argv: arguments, output: .descriptor(pipeFDs[1]), errorOutput: .inherited,
                                   ownProcessGroup: true, searchPath: true)
        let child: pid_t
        do {
            child = try launch.spawn()
        } catch {
            Glibc.close(pipeFDs[1])
            Glibc.close(pipeFDs[0])
            throw StreamError(.sourceFailed, "cannot start \(arguments[0]): \(error.reason)")
        }
        Glibc.close(pipeFDs[1])
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
            ProcessSignal.sendToGroup(SIGTERM, pid)
            var reaped = false
            for _ in 0..<200 where !reaped {
                if ProcessSignal.reap(pid) != nil {
                    reaped = true
                } else {
                    usleep(10_000)
                }
            }
            if !reaped {
                ProcessSignal.sendToGroup(SIGKILL, pid)
                _ = ProcessSignal.wait(pid)
            }
            pid = 0
        }
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
