#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wakes the network thread out of its poll(2) wait when another thread queued a packet.
///
/// libmosquitto in threaded mode only queues what `mosquitto_publish` is given; the network
/// thread writes it on its next turn. Its own wake-up (a socket pair) is internal to the
/// library, so the loop polls this socket pair beside the broker's socket: without it a publish
/// from a task waited for incoming traffic or the end of the wait (200 ms).
final class NetworkWake: Sendable {
    /// The end the network thread polls.
    let readEnd: Int32
    private let writeEnd: Int32

    /// Nil when no socket pair could be made (the loop then waits out its timeout, as before).
    init?() {
        var fds: [Int32] = [-1, -1]
        // A socket pair rather than pipe(2): it is close-on-exec from the start (Swift's Glibc
        // has no pipe2), so a child spawned by another thread meanwhile (exec sources, media
        // engines) never inherits either end.
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return nil }
        (readEnd, writeEnd) = (fds[0], fds[1])
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Ends the network thread's current wait (a full buffer already does).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the socket once the wait ended.
    func clear() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &bytes, bytes.count) > 0 {}
    }
}
