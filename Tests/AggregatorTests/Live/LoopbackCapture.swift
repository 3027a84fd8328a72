import Foundation
import Glibc
import TestHarness

/// A raw capture (AF_PACKET, needs root or CAP_NET_RAW) of the UDP datagrams sent to one
/// port on the loopback interface: what crosses the wire from the agent to Janus.
final class LoopbackCapture {
    private let fd: Int32
    let port: Int

    init(udpPort: Int) throws {
        port = udpPort
        let all = UInt16(ETH_P_ALL).bigEndian
        fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(all))
        guard fd >= 0 else { throw HarnessError("AF_PACKET socket: errno \(errno) (root needed)") }
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = all
        address.sll_ifindex = Int32(if_nametoindex("lo"))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw HarnessError("AF_PACKET bind: errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// The UDP payloads to `port` received since the last call (each once: the loopback's
    /// outgoing copy is skipped).
    func drain() -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var from = sockaddr_ll()
            var length = socklen_t(MemoryLayout<sockaddr_ll>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            guard count > 0 else { return payloads }
            guard from.sll_pkttype != UInt8(PACKET_OUTGOING) else { continue }
            let frame = buffer[0..<count]
            let ip = 14
            guard count > ip + 20, frame[ip] >> 4 == 4, frame[ip + 9] == 17 else { continue }
            let udp = ip + Int(frame[ip] & 0x0F) * 4
            guard count >= udp + 8, Int(frame[udp + 2]) << 8 | Int(frame[udp + 3]) == port else { continue }
            payloads.append(Array(frame[(udp + 8)...]))
        }
    }
}
