import Foundation
import Synchronization

/// The recorder's ingress for one camera: receives the camera's SRTP and RTCP on
/// `address:port` and `port + 1` and forwards every datagram, unchanged (still encrypted),
/// to the engine on loopback and to any extra destination, such as the camera's Janus
/// mountpoint while someone watches live. One stream from the camera feeds both.
final class RTPRelay: Sendable {
    struct Destination: Sendable, Hashable {
        let host: String
        let rtpPort: Int
        let rtcpPort: Int
    }

    let port: Int
    private let sockets: (rtp: Int32, rtcp: Int32)
    private let destinations: Mutex<Set<Destination>>
    private let stopped = Atomic<Bool>(false)
    private let threadsDone = Mutex(0)

    /// Binds both ports on `address` and starts forwarding to `engine`.
    init(address: String, port: Int, engine: Destination) throws {
        self.port = port
        let rtp = try Self.bind(address: address, port: port)
        let rtcp: Int32
        do { rtcp = try Self.bind(address: address, port: port + 1) } catch {
            close(rtp)
            throw error
        }
        sockets = (rtp, rtcp)
        destinations = Mutex([engine])
        for (socket, isRTCP) in [(rtp, false), (rtcp, true)] {
            let thread = Thread { [self] in forward(from: socket, rtcp: isRTCP) }
            thread.name = "outpost-relay-\(port)\(isRTCP ? "-rtcp" : "")"
            thread.start()
        }
    }

    func add(_ destination: Destination) { _ = destinations.withLock { $0.insert(destination) } }
    func remove(_ destination: Destination) { _ = destinations.withLock { $0.remove(destination) } }

    /// Stops forwarding and closes both sockets (within the 200 ms receive timeout).
    func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        while threadsDone.withLock({ $0 }) < 2 { try? await Task.sleep(for: .milliseconds(50)) }
        close(sockets.rtp)
        close(sockets.rtcp)
    }

    private func forward(from socket: Int32, rtcp: Bool) {
        var buffer = [UInt8](repeating: 0, count: 2_048)
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            for destination in destinations.withLock({ $0 }) {
                guard var target = Self.address(destination.host, rtcp ? destination.rtcpPort : destination.rtpPort) else { continue }
                _ = buffer.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &target) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(socket, bytes.baseAddress, count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
        }
        threadsDone.withLock { $0 += 1 }
    }

    static func address(_ host: String, _ port: Int) -> sockaddr_in? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return address
    }

    private static func bind(address host: String, port: Int) throws -> Int32 {
        guard var address = address(host, port) else { throw RecordingError(.noPorts, "\(host) is not an IPv4 address") }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RecordingError(.noPorts, "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var size: Int32 = 1 << 21
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw RecordingError(.noPorts, "bind \(host):\(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}
