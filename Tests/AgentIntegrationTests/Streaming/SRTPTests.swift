import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostSRTP
@testable import OutpostStreaming

/// SRTP through libsrtp2: the wrapper alone, then a real receiver (ffmpeg's SRTP input).
@Suite("SRTP")
struct SRTPTests {
    static let key = SRTPKey.random()

    static func rtpPacket(sequenceNumber: UInt16, payload: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = []
        RTPHeader(marker: true, payloadType: 96, sequenceNumber: sequenceNumber, timestamp: 9000, ssrc: 0x1234_5678).write(into: &packet)
        return packet + payload
    }

    @Test("a key is base64 of exactly 30 bytes, and its description never shows it")
    func keys() throws {
        let key = SRTPKey.random()
        #expect(try SRTPKey(base64: key.base64) == key)
        #expect(Data(base64Encoded: key.base64)?.count == 30)
        #expect(SRTPKey.random() != key)
        #expect(!"\(key)".contains(key.base64))
        #expect(!String(reflecting: key).contains(key.base64))
        #expect(throws: StreamError(.invalidRequest, "")) { try SRTPKey(base64: Data(repeating: 1, count: 16).base64EncodedString()) }
        #expect(throws: StreamError(.invalidRequest, "")) { try SRTPKey(base64: "not base64!") }
        var options = try StreamOptions(arguments: ["srtpKey": .string(key.base64), "srtcp": .bool(false)])
        #expect(options.srtpKey == key)
        #expect(options.srtcp == false)
        options = try StreamOptions(arguments: [:])
        #expect(options.srtpKey == nil)
        #expect(throws: StreamError(.invalidRequest, "")) { try StreamOptions(arguments: ["srtpKey": .number(5)]) }
    }

    @Test("protected RTP hides the payload, carries an 80-bit tag, and only the key opens it; tampering and replay are refused")
    func rtpRoundTrip() throws {
        let sender = try SRTPContext(key: Self.key, direction: .outbound)
        let receiver = try SRTPContext(key: Self.key, direction: .inbound)
        let payload = [UInt8]([0x65]) + (0..<400).map { UInt8(truncatingIfNeeded: $0) }
        let plain = Self.rtpPacket(sequenceNumber: 7, payload: payload)
        let protected = try sender.protectRTP(plain)
        #expect(protected.count == plain.count + 10)
        #expect(Array(protected[0..<12]) == Array(plain[0..<12]), "the RTP header stays in the clear")
        #expect(Array(protected[12..<plain.count]) != Array(plain[12...]), "the payload is encrypted")
        #expect(try receiver.unprotectRTP(protected) == plain)
        #expect(throws: StreamError(.srtpRejected, "")) { try receiver.unprotectRTP(protected) }

        var tampered = try sender.protectRTP(Self.rtpPacket(sequenceNumber: 8, payload: payload))
        tampered[20] ^= 0x01
        #expect(throws: StreamError(.srtpRejected, "")) { try receiver.unprotectRTP(tampered) }

        let stranger = try SRTPContext(key: SRTPKey.random(), direction: .inbound)
        #expect(throws: StreamError(.srtpRejected, "")) { try stranger.unprotectRTP(try sender.protectRTP(Self.rtpPacket(sequenceNumber: 9, payload: payload))) }

        // A NACK retransmission repeats a sequence number; the sender allows it.
        let again = try sender.protectRTP(plain)
        #expect(again == protected)
    }

    @Test("SRTCP: a protected compound report opens with the key; a plain or forged one is refused")
    func rtcpRoundTrip() throws {
        let sender = try SRTPContext(key: Self.key, direction: .outbound)
        let receiver = try SRTPContext(key: Self.key, direction: .inbound)
        let report = RTCPCodec.encode([
            .senderReport(SenderReport(ssrc: 0x1234_5678, ntpTimestamp: NTPTimestamp(seconds: 1, fraction: 2), rtpTimestamp: 3,
                                       packetCount: 4, octetCount: 5)),
            .sourceDescription([SDESChunk(ssrc: 0x1234_5678, items: [SDESItem(type: SDESChunk.cnameItem, text: "outpost@10.0.0.1")])]),
        ])
        let protected = try sender.protectRTCP(report)
        #expect(protected.count == report.count + 4 + 10)
        #expect(try receiver.unprotectRTCP(protected) == report)
        #expect(throws: StreamError(.srtpRejected, "")) { try receiver.unprotectRTCP(report + [0x80, 0, 0, 9] + [UInt8](repeating: 0, count: 10)) }
    }

    @Test("ffmpeg, given the key, decodes an SRTP stream frame for frame; the packets on the wire are not plain RTP",
          .timeLimit(.minutes(2)))
    func ffmpegDecodesSRTP() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-srtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let expected = try await StreamFixtures.sourceFrameHashes(file, in: directory)
        let port = try StreamFixtures.freeUDPPortPair()
        let controller = StreamController(logger: StreamFixtures.logger)
        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: false), destinationHost: "127.0.0.1", rtpPort: port)
        request.options.srtpKey = Self.key
        let session = try await controller.prepare(request)
        #expect(session.sdp.contains("m=video \(port) RTP/SAVPF 96\r\n"))
        #expect(!session.sdp.contains(Self.key.base64), "the offer never carries the key")

        // The receiver learns the key out of band; here as SDES in its own SDP file (RFC 4568).
        let sdp = session.sdp.replacingOccurrences(of: "a=rtpmap:96", with: "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key.base64)\r\na=rtpmap:96")
        let sdpFile = directory.file("stream.sdp")
        try sdp.write(toFile: sdpFile, atomically: true, encoding: .utf8)
        let output = directory.file("received.md5")
        let ffmpeg = try await StreamFixtures.framemd5Receiver(sdpFile: sdpFile, port: port, output: output, in: directory)
        defer { Task { await ffmpeg.stop() } }
        try await controller.play()
        let statistics = try #require(await controller.waitUntilEnded())
        try await waitUntil(timeout: .seconds(30), "ffmpeg to finish after the BYE") { !ffmpeg.isRunning }
        let received = try StreamFixtures.frameHashes(ofFramemd5: output)
        #expect(received == expected)
        #expect(statistics.sendErrors == 0)
        #expect(statistics.rtcpSent >= 1)
        await ffmpeg.stop()
    }

    @Test("a raw capture of an SRTP stream: every packet opens with the key and with no other, and holds RFC 6184 H.264 inside",
          .timeLimit(.minutes(2)))
    func captureIsEncrypted() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-srtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: false), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port, rtcpPort: receiver.localAddress.port)
        request.options.srtpKey = Self.key
        let controller = StreamController(logger: StreamFixtures.logger)
        _ = try await controller.start(request)
        var captured: [[UInt8]] = []
        func drain() {
            while let (bytes, _) = receiver.receive() {
                if !(192...223).contains(bytes[1]) { captured.append(bytes) }
            }
        }
        try await waitUntil(timeout: .seconds(30), every: .milliseconds(20), "every packet of the clip") {
            drain()
            guard let statistics = await controller.statistics, statistics.accessUnits >= 60 else { return false }
            return captured.count >= statistics.packetsSent
        }
        let statistics = try #require(await controller.waitUntilEnded())
        drain()
        #expect(captured.count == statistics.packetsSent)
        #expect(captured.count >= 60)
        let opener = try SRTPContext(key: Self.key, direction: .inbound)
        let wrong = try SRTPContext(key: SRTPKey.random(), direction: .inbound)
        var stapA = 0
        var plainNALTypes = Set<UInt8>()
        for packet in captured {
            #expect(throws: StreamError(.srtpRejected, "")) { try wrong.unprotectRTP(packet) }
            let plain = try opener.unprotectRTP(packet)
            #expect(plain.count == packet.count - 10)
            plainNALTypes.insert(plain[12] & 0x1F)
            if plain[12] & 0x1F == 24 { stapA += 1 }
        }
        // Decrypted, the payloads are H.264 of RFC 6184 (single NAL units, STAP-A, FU-A).
        #expect(stapA >= 1)
        #expect(plainNALTypes.isSubset(of: Set<UInt8>(1...24).union([28])))
    }
}
