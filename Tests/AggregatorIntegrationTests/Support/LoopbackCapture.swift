import Foundation
import Glibc
import TestHarness

/// A raw capture (AF_PACKET, needs root or CAP_NET_RAW) of the UDP datagrams sent to one
/// port on the loopback interface: what crosses the wire from the agent to Janus.
final class LoopbackCapture {
    private let fd: Int32
    let port: Int

    /// `struct sockaddr_ll` (linux/if_packet.h, which Glibc's module does not export): family,
    /// protocol, ifindex, hatype, pkttype (offset 10), halen, address; 20 bytes.
    static let linkAddressSize = 20
    static let allProtocols = UInt16(0x0003).bigEndian  // ETH_P_ALL
    static let packetOutgoing: UInt8 = 4  // PACKET_OUTGOING

    init(udpPort: Int) throws {
        port = udpPort
        fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(Self.allProtocols))
        guard fd >= 0 else { throw HarnessError("AF_PACKET socket: errno \(errno) (root needed)") }
        var address = [UInt8](repeating: 0, count: Self.linkAddressSize)
        withUnsafeBytes(of: UInt16(AF_PACKET)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: Self.allProtocols) { address.replaceSubrange(2..<4, with: $0) }
        withUnsafeBytes(of: Int32(if_nametoindex("lo"))) { address.replaceSubrange(4..<8, with: $0) }
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(Self.linkAddressSize))
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
            var from = [UInt8](repeating: 0, count: Self.linkAddressSize)
            var length = socklen_t(Self.linkAddressSize)
            let count = buffer.withUnsafeMutableBytes { bytes in
                from.withUnsafeMutableBytes {
                    recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
                }
            }
            guard count > 0 else { return payloads }
            guard from[10] != Self.packetOutgoing else { continue }
            let frame = buffer[0..<count]
            let ip = 14
            guard count > ip + 20, frame[ip] >> 4 == 4, frame[ip + 9] == 17 else { continue }
            let udp = ip + Int(frame[ip] & 0x0F) * 4
            guard count >= udp + 8, Int(frame[udp + 2]) << 8 | Int(frame[udp + 3]) == port else { continue }
            payloads.append(Array(frame[(udp + 8)...]))
        }
    }
}
