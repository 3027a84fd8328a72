import Foundation
import Synchronization

/// Loopback ports and readiness probes.
public enum FreePort {
    /// Ports this process has handed out. A server binds its port some time after choosing it
    /// and binds it again on a restart; the kernel may offer a released port to the next
    /// bind to port 0, so without this two servers of tests running side by side could be
    /// given the same port.
    private static let handedOut = Mutex(Set<Int>())

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released),
    /// never one this process handed out before.
    public static func next() throws -> Int {
        for _ in 0..<64 {
            let port = try unboundPort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw HarnessError("no port that was not handed out before in 64 tries")
    }

    private static func unboundPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func isAccepting(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Polls `condition` until it holds or `timeout` passes. Probing, never a fixed sleep.
public func waitUntil(
    timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50), _ what: String,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw HarnessError("timed out after \(timeout) waiting for \(what)")
}
