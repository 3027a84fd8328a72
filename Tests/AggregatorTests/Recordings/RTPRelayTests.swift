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

        /// The next datagram that is not one of the relay's own receiver reports about
        /// `skippingReportsOn` (the camera's SSRC), or nil after `timeout` milliseconds.
        func receive(timeoutMs: Int = 2_000, skippingReportsOn ssrc: [UInt8]? = nil) -> [UInt8]? {
            while true {
                guard let datagram = receiveAny(timeoutMs: timeoutMs) else { return nil }
                if let ssrc, datagram.count == 32, datagram[1] == 201, Array(datagram[8..<12]) == ssrc { continue }
                return datagram
            }
        }

        func receiveAny(timeoutMs: Int) -> [UInt8]? {
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
        let mediaSSRC: [UInt8] = [7, 7, 7, 7]
        #expect(cameraRTCP.receive(skippingReportsOn: mediaSSRC) == receiverReport, "the engine's RR goes back to the camera")
        let pli: [UInt8] = [0x81, 206, 0, 2] + [UInt8](repeating: 3, count: 8)
        janusRTCP.send(pli, to: port + 1)
        #expect(cameraRTCP.receive(skippingReportsOn: mediaSSRC) == pli, "Janus's PLI goes back to the camera")
        #expect(janusRTCP.receive(timeoutMs: 300) == nil, "the engine's RR is not reflected to Janus")
        #expect(engineRTCP.receive(timeoutMs: 300) == nil, "Janus's PLI is not reflected to the engine")

        janusRTCP.send(media, to: port)
        #expect(engineRTP.receive(timeoutMs: 300) == nil, "a destination's datagram on the RTP port is dropped")
        #expect(cameraRTP.receive(timeoutMs: 300) == nil)
        let counters = relay.statistics
        #expect(counters.forwarded == 2 && counters.returned == 2 && counters.dropped == 1, "\(counters)")

        // The relay's own receiver report about the camera's stream, within about a second.
        var report: [UInt8]?
        let deadline = Date().addingTimeInterval(5)
        while report == nil, Date() < deadline {
            if let datagram = cameraRTCP.receiveAny(timeoutMs: 1_000), datagram.count == 32, datagram[1] == 201,
               Array(datagram[8..<12]) == mediaSSRC { report = datagram }
        }
        let rr = try #require(report, "a receiver report from the relay")
        #expect(rr[0] == 0x81 && rr[3] == 7, "RR with one report block")
        #expect(Array(rr[16..<20]) == [0, 0, 0, 1], "extended highest sequence number 1")
        #expect(Array(rr[24..<28]) == [1, 1, 1, 1], "LSR: the middle of the SR's NTP time")
        #expect(relay.statistics.reports >= 1)

        relay.setViewers([])
        cameraRTP.send(media, to: port)
        #expect(engineRTP.receive() == media)
        #expect(janusRTP.receive(timeoutMs: 300) == nil, "no live destination after it is removed")
        await relay.stop()
    }
}

/// The relay's receiver reports as values: sequence tracking, loss, wrap-around, LSR/DLSR.
@Suite("Relay receiver reports (no network)")
struct RelayReceptionReportTests {
    static func rtp(sequence: UInt16, timestamp: UInt32, ssrc: UInt32 = 0x0102_0304) -> [UInt8] {
        [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF),
         UInt8(timestamp >> 24), UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF),
         UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF)] + [UInt8](repeating: 0, count: 8)
    }

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    @Test("no report before media; two of ten packets lost across a sequence wrap: fraction 51/256, cumulative 2, extended highest 65540; the next report's fraction covers only its interval; LSR and DLSR from the last SR")
    func lossWrapAndDelay() throws {
        var reception = RelayReceptionReport(reporter: 0xAABB_CCDD)
        #expect(reception.report(now: 0) == nil)
        for (index, sequence) in ([65_531, 65_532, 65_533, 65_535, 0, 1, 2, 3, 4] as [UInt16]).enumerated() where sequence != 2 {
            let packet = Self.rtp(sequence: sequence, timestamp: UInt32(index) * 3_000)
            packet.withUnsafeBytes { reception.rtp($0, arrival: Double(index) / 30) }
        }
        let senderReport: [UInt8] = [0x80, 200, 0, 6, 1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88] + [UInt8](repeating: 0, count: 12)
        senderReport.withUnsafeBytes { reception.rtcp($0, arrival: 10) }
        let firstReport = reception.report(now: 10.5)
        let first = try #require(firstReport)
        #expect(first.count == 32 && first[0] == 0x81 && first[1] == 201)
        #expect(Self.word(first, 4) == 0xAABB_CCDD && Self.word(first, 8) == 0x0102_0304)
        // Expected 65531…4 = 10, received 8 (65534 and 2 missing).
        #expect(first[12] == UInt8((2 << 8) / 10))
        #expect(Self.word(first, 12) & 0xFF_FFFF == 2)
        #expect(Self.word(first, 16) == 65_536 + 4)
        #expect(Self.word(first, 20) < 10, "steady 30 fps timestamps: little jitter")
        #expect(Self.word(first, 24) == 0x3344_5566)
        #expect(Self.word(first, 28) == 32_768, "half a second in 1/65536 s")
        for sequence: UInt16 in 5...14 {
            Self.rtp(sequence: sequence, timestamp: UInt32(sequence) * 3_000).withUnsafeBytes { reception.rtp($0, arrival: 11 + Double(sequence) / 30) }
        }
        let secondReport = reception.report(now: 12)
        let second = try #require(secondReport)
        #expect(second[12] == 0, "nothing lost since the last report")
        #expect(Self.word(second, 12) & 0xFF_FFFF == 2)
        // A new SSRC (the agent restarted its stream) starts over.
        Self.rtp(sequence: 100, timestamp: 0, ssrc: 9).withUnsafeBytes { reception.rtp($0, arrival: 13) }
        let freshReport = reception.report(now: 13)
        let fresh = try #require(freshReport)
        #expect(Self.word(fresh, 8) == 9 && Self.word(fresh, 12) == 0 && Self.word(fresh, 16) == 100 && Self.word(fresh, 24) == 0)
    }
}
