import Foundation
@testable import OutpostAggregator
import Testing

/// The relay's directions on loopback sockets: media and sender reports from the camera go to
/// the engine and the live mountpoint; RTCP from either goes back to the camera only; anything
/// a destination sends to the RTP port is dropped.
@Suite("RTP relay: media forward, feedback back")
struct RTPRelayTests {
    /// A UDP socket on 127.0.0.1 with an ephemeral port and a 2 s receive timeout.
    final class Peer {
        let fd: Int32
        let port: Int

        init() throws {
            let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = RTPRelay.address("127.0.0.1", 0)!
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(socketFD)
                throw RecordingError(.noPorts, "bind")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
            }
            fd = socketFD
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8], to port: Int) {
            var target = RTPRelay.address("127.0.0.1", port)!
            _ = bytes.withUnsafeBytes { buffer in
                withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// The next datagram, or nil after `timeout` milliseconds.
        func receive(timeoutMs: Int = 2_000) -> [UInt8]? {
            var timeout = timeval(tv_sec: timeoutMs / 1_000, tv_usec: Int((timeoutMs % 1_000) * 1_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 2_048)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return count > 0 ? Array(buffer.prefix(count)) : nil
        }
    }

    @Test("RTP and SR from the camera reach the engine and the mountpoint; RR from the engine and PLI from Janus reach only the camera's RTCP port; RTP sent by a destination is dropped")
    func directions() async throws {
        let engineRTP = try Peer(), engineRTCP = try Peer(), janusRTP = try Peer(), janusRTCP = try Peer()
        let cameraRTP = try Peer(), cameraRTCP = try Peer()
        let port = try CameraRecorder.freePortPair(address: "127.0.0.1", candidates: Array(stride(from: 45_000, to: 45_400, by: 2)).shuffled())
        let relay = try RTPRelay(address: "127.0.0.1", port: port,
                                 engine: RTPRelay.Destination(host: "127.0.0.1", rtpPort: engineRTP.port, rtcpPort: engineRTCP.port))
        relay.add(RTPRelay.Destination(host: "127.0.0.1", rtpPort: janusRTP.port, rtcpPort: janusRTCP.port))

        let media: [UInt8] = [0x80, 96, 0, 1] + [UInt8](repeating: 7, count: 20)
        cameraRTP.send(media, to: port)
        #expect(engineRTP.receive() == media)
        #expect(janusRTP.receive() == media)
        let senderReport: [UInt8] = [0x80, 200, 0, 6] + [UInt8](repeating: 1, count: 24)
        cameraRTCP.send(senderReport, to: port + 1)
        #expect(engineRTCP.receive() == senderReport)
        #expect(janusRTCP.receive() == senderReport)

        let receiverReport: [UInt8] = [0x81, 201, 0, 7] + [UInt8](repeating: 2, count: 28)
        engineRTCP.send(receiverReport, to: port + 1)
        #expect(cameraRTCP.receive() == receiverReport, "the engine's RR goes back to the camera")
        let pli: [UInt8] = [0x81, 206, 0, 2] + [UInt8](repeating: 3, count: 8)
        janusRTCP.send(pli, to: port + 1)
        #expect(cameraRTCP.receive() == pli, "Janus's PLI goes back to the camera")
        #expect(janusRTCP.receive(timeoutMs: 300) == nil, "the engine's RR is not reflected to Janus")
        #expect(engineRTCP.receive(timeoutMs: 300) == nil, "Janus's PLI is not reflected to the engine")

        janusRTCP.send(media, to: port)
        #expect(engineRTP.receive(timeoutMs: 300) == nil, "a destination's datagram on the RTP port is dropped")
        #expect(cameraRTP.receive(timeoutMs: 300) == nil)
        #expect(relay.statistics == RTPRelay.Counters(forwarded: 2, returned: 2, dropped: 1))

        relay.setViewers([])
        cameraRTP.send(media, to: port)
        #expect(engineRTP.receive() == media)
        #expect(janusRTP.receive(timeoutMs: 300) == nil, "no live destination after it is removed")
        await relay.stop()
    }
}
