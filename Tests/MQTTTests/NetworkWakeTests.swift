#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import OutpostMQTT

/// The socket pair that ends the network thread's poll when a task queued a packet, without a broker.
@Suite("Network wake", .timeLimit(.minutes(1)))
struct NetworkWakeTests {
    /// What the network loop's poll(2) sees on the wake socket pair right now (no waiting).
    func readable(_ wake: NetworkWake) -> Bool {
        var descriptor = pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLIN) != 0
    }

    @Test("a signal makes the poll return at once; clearing empties it; signals never block, however many")
    func signalAndClear() throws {
        let wake = try #require(NetworkWake())
        #expect(!readable(wake), "nothing queued: the loop waits")
        wake.signal()
        #expect(readable(wake), "a queued packet ends the wait")
        wake.clear()
        #expect(!readable(wake), "cleared: the next poll waits again")
        // More signals than the socket buffer holds: the writer must not block, the socket stays readable.
        for _ in 0..<100_000 { wake.signal() }
        #expect(readable(wake))
        wake.clear()
        #expect(!readable(wake))
    }
}
