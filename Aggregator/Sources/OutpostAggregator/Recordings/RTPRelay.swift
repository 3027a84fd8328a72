import Foundation
import Synchronization

/// The recorder's ingress for one camera: receives the camera's SRTP and RTCP on
/// `address:port` and `port + 1` and forwards them, unchanged (still encrypted), to the
/// engine on loopback and to the camera's Janus mountpoint while someone watches live. One
/// stream from the camera feeds both.
///
/// Media goes one way, feedback the other: RTP is only forwarded from the camera; RTCP from
/// the camera (sender reports) goes to every destination, and RTCP from a destination
/// (receiver reports, PLI, NACK from Janus or the engine) goes back only to the camera's RTCP
/// address, learnt from the camera's own RTCP. Datagrams from a destination on the RTP port
/// are dropped. The relay also reports what it receives to the camera, once a second
/// (``RelayReceptionReport``), since the engine and Janus send no receiver reports.
final class RTPRelay: Sendable {
    struct Destination: Sendable, Hashable {
        let host: String
        let rtpPort: Int
        let rtcpPort: Int
    }

    /// Datagrams by direction, for tests and logs.
    struct Counters: Sendable, Equatable {
        var forwarded = 0
        var returned = 0
        var dropped = 0
        var reports = 0
    }

    /// An IPv4 address and port in network order, comparable.
    private struct Endpoint: Hashable, Sendable {
        let address: UInt32
        let port: UInt16

        init(_ socketAddress: sockaddr_in) {
            address = socketAddress.sin_addr.s_addr
            port = socketAddress.sin_port
        }

        var socketAddress: sockaddr_in {
            var result = sockaddr_in()
            result.sin_family = sa_family_t(AF_INET)
            result.sin_addr.s_addr = address
            result.sin_port = port
            return result
        }
    }

    private struct Routes: Sendable {
        var rtp: [Endpoint] = []
        var rtcp: [Endpoint] = []
        var feedbackSources: Set<Endpoint> = []
    }

    let port: Int
    private let sockets: (rtp: Int32, rtcp: Int32)
    private let engine: Destination
    private let viewers = Mutex<Set<Destination>>([])
    private let routes = Mutex(Routes())
    private let camera = Mutex<Endpoint?>(nil)
    private let counters = Mutex(Counters())
    private let reception = Mutex(RelayReceptionReport(reporter: UInt32.random(in: 1...UInt32.max)))
    private let stopped = Atomic<Bool>(false)
    private let threadsDone = Mutex(0)

    /// Binds both ports on `address` and starts forwarding to `engine`.
    init(address: String, port: Int, engine: Destination) throws {
        self.port = port
        self.engine = engine
        let rtp = try Self.bind(address: address, port: port)
        let rtcp: Int32
        do { rtcp = try Self.bind(address: address, port: port + 1) } catch {
            close(rtp)
            throw error
        }
        sockets = (rtp, rtcp)
        rebuildRoutes([])
        for (socket, isRTCP) in [(rtp, false), (rtcp, true)] {
            let thread = Thread { [self] in forward(from: socket, rtcp: isRTCP) }
            thread.name = "outpost-relay-\(port)\(isRTCP ? "-rtcp" : "")"
            thread.start()
        }
    }

    var statistics: Counters { counters.withLock { $0 } }

    func add(_ destination: Destination) { rebuildRoutes(viewers.withLock { $0.insert(destination); return $0 }) }
    func remove(_ destination: Destination) { rebuildRoutes(viewers.withLock { $0.remove(destination); return $0 }) }

    /// Replaces the live destinations (the engine stays).
    func setViewers(_ destinations: Set<Destination>) {
        rebuildRoutes(viewers.withLock { $0 = destinations; return $0 })
    }

    var currentViewers: Set<Destination> { viewers.withLock { $0 } }

    private func rebuildRoutes(_ viewers: Set<Destination>) {
        var next = Routes()
        for destination in [engine] + viewers.sorted(by: { ($0.host, $0.rtpPort) < ($1.host, $1.rtpPort) }) {
            guard let rtp = Self.address(destination.host, destination.rtpPort),
                  let rtcp = Self.address(destination.host, destination.rtcpPort)
            else { continue }
            next.rtp.append(Endpoint(rtp))
            next.rtcp.append(Endpoint(rtcp))
            next.feedbackSources.insert(Endpoint(rtcp))
            next.feedbackSources.insert(Endpoint(rtp))
        }
        routes.withLock { $0 = next }
    }

    /// Stops forwarding and closes both sockets (within the 200 ms receive timeout).
    func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        while threadsDone.withLock({ $0 }) < 2 { try? await Task.sleep(for: .milliseconds(50)) }
        close(sockets.rtp)
        close(sockets.rtcp)
    }

    private func forward(from socket: Int32, rtcp: Bool) {
        var buffer = [UInt8](repeating: 0, count: 2_048)
        var source = sockaddr_in()
        var lastReport = Self.monotonicSeconds()
        while !stopped.load(ordering: .sequentiallyConsistent) {
            if rtcp, Self.monotonicSeconds() - lastReport >= 1 {
                lastReport = Self.monotonicSeconds()
                sendReport(socket, now: lastReport)
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            guard count > 0, source.sin_family == sa_family_t(AF_INET) else { continue }
            let from = Endpoint(source)
            let current = routes.withLock { $0 }
            if current.feedbackSources.contains(from) {
                guard rtcp, let camera = camera.withLock({ $0 }) else {
                    counters.withLock { $0.dropped += 1 }
                    continue
                }
                send(socket, buffer, count, to: [camera])
                counters.withLock { $0.returned += 1 }
            } else {
                let arrival = Self.monotonicSeconds()
                buffer.withUnsafeBytes { bytes in
                    let packet = UnsafeRawBufferPointer(rebasing: bytes.prefix(count))
                    reception.withLock { rtcp ? $0.rtcp(packet, arrival: arrival) : $0.rtp(packet, arrival: arrival) }
                }
                if rtcp { camera.withLock { $0 = from } }
                send(socket, buffer, count, to: rtcp ? current.rtcp : current.rtp)
                counters.withLock { $0.forwarded += 1 }
            }
        }
        threadsDone.withLock { $0 += 1 }
    }

    /// A receiver report to the camera, once it is known and has sent media.
    private func sendReport(_ socket: Int32, now: Double) {
        guard let camera = camera.withLock({ $0 }), let report = reception.withLock({ $0.report(now: now) }) else { return }
        send(socket, report, report.count, to: [camera])
        counters.withLock { $0.reports += 1 }
    }

    static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func send(_ socket: Int32, _ buffer: [UInt8], _ count: Int, to targets: [Endpoint]) {
        for target in targets {
            var address = target.socketAddress
            _ = buffer.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socket, bytes.baseAddress, count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
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

extension RTPRelay.Destination {
    /// A live session's mountpoint as the relay's destination.
    init(_ address: LiveSessionsStore.MediaAddress) {
        self.init(host: address.host, rtpPort: address.rtpPort, rtcpPort: address.rtcpPort)
    }
}
