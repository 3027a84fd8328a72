#if canImport(Glibc)
import Glibc
#endif
import OutpostStreaming

/// The open end of a ``StreamSource``, read by the streaming thread.
protocol ByteSource: AnyObject {
    /// A descriptor to poll for readability; nil when reads never block (a regular file).
    var pollDescriptor: Int32? { get }
    /// File sources are paced by the sender; live sources arrive in real time.
    var isPaced: Bool { get }
    /// Reads into `buffer`: bytes read, 0 at end of stream, nil when nothing is ready.
    func read(into buffer: inout [UInt8]) throws(StreamError) -> Int?
    /// Starts over after the end of the stream; false when this source has ended for good.
    func restartAfterEnd() throws(StreamError) -> Bool
    /// Applies a new target bitrate; false when the source cannot.
    func apply(bitrate: UInt64) throws(StreamError) -> Bool
    func close()
}

extension ByteSource {
    func apply(bitrate: UInt64) throws(StreamError) -> Bool { false }
}

/// `read(2)` into `buffer`, mapping EAGAIN to nil.
func readDescriptor(_ fd: Int32, into buffer: inout [UInt8]) throws(StreamError) -> Int? {
    while true {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count >= 0 { return count }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw StreamError(.sourceFailed, "read: \(String(cString: strerror(errno)))")
    }
}

/// A file read from the start, again when looping.
final class FileByteSource: ByteSource {
    private let fd: Int32
    private let loop: Bool
    let pollDescriptor: Int32? = nil
    let isPaced = true

    init(path: String, loop: Bool) throws(StreamError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StreamError(.sourceFailed, "open \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.loop = loop
    }

    func read(into buffer: inout [UInt8]) throws(StreamError) -> Int? { try readDescriptor(fd, into: &buffer) }

    func restartAfterEnd() throws(StreamError) -> Bool {
        guard loop else { return false }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw StreamError(.sourceFailed, "lseek: \(String(cString: strerror(errno)))") }
        return true
    }

    func close() { _ = Glibc.close(fd) }
}

/// A named pipe. Opened non-blocking so that opening does not wait for a writer.
final class FIFOByteSource: ByteSource {
    private let path: String
    private var fd: Int32
    let isPaced = false
    var pollDescriptor: Int32? { fd }

    init(path: String) throws(StreamError) {
        self.path = path
        fd = try Self.open(path)
    }

    private static func open(_ path: String) throws(StreamError) -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else {
            throw StreamError(.sourceFailed, "\(path) is not a FIFO")
        }
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw StreamError(.sourceFailed, "open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    func read(into buffer: inout [UInt8]) throws(StreamError) -> Int? { try readDescriptor(fd, into: &buffer) }

    /// The writer closed: re-open, so poll waits for the next writer instead of reporting hang-up.
    func restartAfterEnd() throws(StreamError) -> Bool {
        _ = Glibc.close(fd)
        fd = try Self.open(path)
        return true
    }

    func close() { _ = Glibc.close(fd) }
}
