#if canImport(Glibc)
import Glibc
#endif

/// Finds the local address the kernel would send from to reach a destination.
///
/// `connect(2)` on a UDP socket sends nothing; it makes the kernel pick a route and a
/// source address, which `getsockname(2)` then reports. That is the host's address on the
/// interface facing the destination: what belongs in the SDP's `o=` and `c=` lines.
public enum RouteLookup {
    public static func sourceAddress(toward destination: SocketAddress) throws(StreamError) -> SocketAddress {
        let fd = socket(destination.addressFamily, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw StreamError(.noRoute, "socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let connected = destination.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else {
            throw StreamError(.noRoute, "no route to \(destination.host): \(String(cString: strerror(errno)))")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, let local = SocketAddress(storage), !local.isUnspecified else {
            throw StreamError(.noRoute, "the kernel chose no source address toward \(destination.host)")
        }
        return local.withPort(0)
    }
}
