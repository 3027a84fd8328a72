#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket bound to one local address. Owned by one thread at a time.
package final class UDPSocket {
    package private(set) var fd: Int32
    package let localAddress: SocketAddress

    /// Binds to `address` (port 0 for an ephemeral port).
    package init(binding address: SocketAddress, sendBufferBytes: Int = 1 << 20) throws(StreamError) {
        let fd = socket(address.addressFamily, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StreamError(.bindFailed, "socket(): \(String(cString: strerror(errno)))") }
        var size = Int32(sendBufferBytes)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw StreamError(.bindFailed, "bind \(address): \(reason)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        localAddress = SocketAddress(storage) ?? address
    }

    deinit { close() }

    /// Releases the port now rather than when the last reference goes.
    package func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// Sends one datagram; returns false when the kernel refused it (buffer full, no route,
    /// ICMP port unreachable reported from an earlier send).
    @discardableResult
    package func send(_ bytes: [UInt8], to destination: SocketAddress) -> Bool {
        let sent = bytes.withUnsafeBytes { buffer in
            destination.withSockaddr { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        return sent == bytes.count
    }

    /// Reads one datagram if one is waiting.
    package func receive(maximumSize: Int = 2048) -> (bytes: [UInt8], from: SocketAddress?)? {
        var buffer = [UInt8](repeating: 0, count: maximumSize)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[0..<count]), SocketAddress(storage))
    }

    /// An even RTP port and the odd RTCP port above it on `address` (RFC 3550 §11), or one
    /// socket for both when `multiplexed`. `port` 0 picks free ports.
    package static func bindPair(on address: SocketAddress, port: Int, multiplexed: Bool) throws(StreamError) -> (rtp: UDPSocket, rtcp: UDPSocket?) {
        if multiplexed { return (try UDPSocket(binding: address.withPort(port)), nil) }
        if port != 0 {
            let rtp = try UDPSocket(binding: address.withPort(port))
            return (rtp, try UDPSocket(binding: address.withPort(port + 1)))
        }
        for _ in 0..<64 {
            let probe = try UDPSocket(binding: address.withPort(0))
            let candidate = probe.localAddress.port & ~1
            guard candidate > 1024, candidate < 65_534 else { continue }
            guard let rtp = candidate == probe.localAddress.port ? probe : try? UDPSocket(binding: address.withPort(candidate)) else { continue }
            if let rtcp = try? UDPSocket(binding: address.withPort(candidate + 1)) { return (rtp, rtcp) }
        }
        throw StreamError(.bindFailed, "no free even/odd port pair on \(address.host)")
    }
}
