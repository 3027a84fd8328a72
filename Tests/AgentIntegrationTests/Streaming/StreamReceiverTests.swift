import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostStreaming

/// Real receivers from Debian packages: ffmpeg and GStreamer, on loopback.
@Suite("RTP streaming to real receivers", .serialized, .timeLimit(.minutes(3)))
struct StreamReceiverTests {
    @Test("ffmpeg decodes the stream from the SDP frame for frame", arguments: ["small", "large"])
    func ffmpegFrameForFrame(kind: String) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = kind == "large" ? try await StreamFixtures.largeStream(in: directory) : try await StreamFixtures.smallStream(in: directory)
        let expected = try await StreamFixtures.sourceFrameHashes(file, in: directory)
        let counts = try StreamFixtures.packetCounts(file)
        if kind == "large" { #expect(Double(counts.fuA) / Double(counts.packets) > 0.9, "FU-A must dominate: \(counts)") }

        let port = try StreamFixtures.freeUDPPortPair()
        let controller = StreamController(logger: StreamFixtures.logger)
        let request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: false), destinationHost: "127.0.0.1", rtpPort: port)
        let session = try await controller.prepare(request)
        #expect(session.localRTP.host == "127.0.0.1")
        let sdpFile = directory.file("stream.sdp")
        try session.sdp.write(toFile: sdpFile, atomically: true, encoding: .utf8)

        let output = directory.file("received.md5")
        let ffmpeg = try await StreamFixtures.framemd5Receiver(sdpFile: sdpFile, port: port, output: output, in: directory)
        defer { Task { await ffmpeg.stop() } }
        try await controller.play()
        let statistics = try #require(await controller.waitUntilEnded())
        // ffmpeg ends its input at our RTCP BYE.
        try await waitUntil(timeout: .seconds(30), "ffmpeg to finish after the BYE") { !ffmpeg.isRunning }

        let received = try StreamFixtures.frameHashes(ofFramemd5: output)
        #expect(received.count == expected.count)
        #expect(received == expected)
        #expect(ffmpeg.log.split(separator: "\n").isEmpty, "ffmpeg printed errors: \(ffmpeg.log)")
        #expect(statistics.accessUnits == 60)
        #expect(statistics.packetsSent == counts.packets)
        #expect(statistics.sendErrors == 0)
        #expect(statistics.rtcpSent >= 1)
        await ffmpeg.stop()
    }

    @Test("a GStreamer rtpbin (AVPF) behind a lossy relay: RR about our SSRC, LSR matched, loss reported, keyframe request answered")
    func gstreamerFeedback() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let port = try StreamFixtures.freeUDPPortPair()
        // The relay drops the 46th packet: after the receiver has settled, early enough to keep the test short.
        let relay = try LossyRelay(to: SocketAddress(host: "127.0.0.1", port: port, family: .ipv4), dropIndices: [45])
        defer { relay.stop() }

        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                    rtpPort: relay.port, rtcpPort: port + 1)
        request.options.rtcpMinimumInterval = .seconds(1)
        request.options.statsInterval = .seconds(1)
        request.options.expectFeedback = true
        let controller = StreamController(logger: StreamFixtures.logger)
        let session = try await controller.prepare(request)

        let caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,"
            + "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true"
        let pipeline = [
            "rtpbin", "name=rtpbin", "rtp-profile=avpf",
            "udpsrc", "address=127.0.0.1", "port=\(port)", "caps=\(caps)", "!", "rtpbin.recv_rtp_sink_0",
            "rtpbin.", "!", "rtph264depay", "request-keyframe=true", "!", "avdec_h264", "!", "fakesink",
            "udpsrc", "address=127.0.0.1", "port=\(port + 1)", "!", "rtpbin.recv_rtcp_sink_0",
            "rtpbin.send_rtcp_src_0", "!", "udpsink", "host=127.0.0.1", "port=\(session.localRTCP.port)", "sync=false", "async=false",
        ]
        let gstreamer = try ServerProcess(name: "gst-launch", executable: try locateTool("gst-launch-1.0"), arguments: ["-q"] + pipeline,
                                          logPath: directory.file("gst.log"))
        defer { Task { await gstreamer.stop() } }
        try await waitUntil(timeout: .seconds(30), "GStreamer listening on UDP \(port)") {
            guard gstreamer.isRunning else { throw HarnessError("gst-launch exited: \(gstreamer.log)") }
            let rtp = await StreamFixtures.isUDPPortBound(port)
            let rtcp = await StreamFixtures.isUDPPortBound(port + 1)
            return rtp && rtcp
        }
        try await controller.play()
        try await waitUntil(timeout: .seconds(60), every: .milliseconds(200), "an RR reporting the loss, and a keyframe request answered") {
            guard let statistics = await controller.statistics else { return false }
            let feedback = statistics.feedback
            return feedback.matchedLastSenderReports >= 1 && feedback.lossReports >= 1 && feedback.keyframeRequests >= 1
                && statistics.parameterSetResends >= 1 && relay.parameterSetsResentAheadOfNonIDR >= 1
        }
        let statistics = try #require(await controller.stop())
        #expect(relay.droppedSequenceNumbers.count == 1)
        let feedback = statistics.feedback
        #expect(feedback.reportBlocks >= 1)
        #expect(feedback.matchedLastSenderReports >= 1)
        // GStreamer's rtpsource counts its two probation packets as received but starts the
        // expected range at the second, so its cumulative loss runs one below the truth; the
        // fraction lost of the interval with the drop is exact.
        #expect(feedback.peakFractionLost >= 1)
        #expect(feedback.pli + feedback.fir >= 1)
        #expect(statistics.parameterSetResends >= 1)
        #expect(relay.parameterSetsResentAheadOfNonIDR >= 1)
        let report = try #require(statistics.lastReport)
        #expect(report.lastSenderReportMatched)
        let rtt = try #require(report.roundTripMilliseconds)
        #expect(rtt >= 0 && rtt < 1000)
        #expect(statistics.rtcpErrors.isEmpty)
        #expect(!statistics.feedbackSilent)
        await gstreamer.stop()
    }

    @Test("injected PLI, FIR, REMB and NACK are parsed, counted and answered; SR, SDES and BYE reach the receiver")
    func injectedFeedback() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port, rtcpPort: receiver.localAddress.port)
        request.options.rtcpMinimumInterval = .milliseconds(500)
        request.options.keyframeResendInterval = .seconds(60)
        let controller = StreamController(logger: StreamFixtures.logger)
        let session = try await controller.start(request)
        let peer = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        let theirs: UInt32 = 0xAABB_CCDD

        var rtp: [[UInt8]] = []
        var rtcp: [RTCPPacket] = []
        func drain() {
            while let (bytes, _) = receiver.receive() {
                if (192...223).contains(bytes[1]) { rtcp += (try? RTCPCodec.decode(bytes)) ?? [] } else { rtp.append(bytes) }
            }
        }
        try await waitUntil(timeout: .seconds(20), "RTP and a sender report") {
            drain()
            return rtp.count >= 20 && rtcp.contains { if case .senderReport = $0 { true } else { false } }
        }
        let sent = rtp[10]
        let feedback: [[UInt8]] = [
            RTCPCodec.encode([.pictureLossIndication(.init(senderSSRC: theirs, mediaSSRC: session.ssrc))]),
            RTCPCodec.encode([.fullIntraRequest(.init(senderSSRC: theirs, entries: [.init(ssrc: session.ssrc, sequenceNumber: 1)]))]),
            RTCPCodec.encode([.fullIntraRequest(.init(senderSSRC: theirs, entries: [.init(ssrc: session.ssrc, sequenceNumber: 1)]))]),
            RTCPCodec.encode([.receiverEstimatedMaximumBitrate(.init(senderSSRC: theirs, bitrate: 500_000, ssrcs: [session.ssrc]))]),
            RTCPCodec.encode([.genericNACK(.init(senderSSRC: theirs, mediaSSRC: session.ssrc,
                                                 entries: [.init(packetID: sent.readBigEndianUInt16(at: 2), bitmask: 0)]))]),
            RTCPCodec.encode([.pictureLossIndication(.init(senderSSRC: theirs, mediaSSRC: 0x0BAD_0BAD))]),
            [0x41, 0xCE, 0x00, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33, 0x44],
        ]
        rtp.removeAll()
        for packet in feedback { peer.send(packet, to: session.localRTCP) }
        try await waitUntil(timeout: .seconds(20), "the feedback to be counted") {
            guard let statistics = await controller.statistics else { return false }
            return statistics.feedback.remb == 1 && statistics.feedback.nack == 1 && statistics.rtcpErrors.values.reduce(0, +) == 1
                && statistics.feedback.foreign == 1
        }
        try await waitUntil(timeout: .seconds(20), "the retransmission and the SPS/PPS resend on the wire") {
            drain()
            return rtp.contains(sent) && rtp.contains { $0[12] & 0x1F == 24 }
        }
        let statistics = try #require(await controller.stop())
        #expect(statistics.feedback.pli == 1)
        #expect(statistics.feedback.fir == 2)
        #expect(statistics.feedback.firDuplicates == 1)
        #expect(statistics.feedback.remb == 1)
        #expect(statistics.rembBitrate == 500_000)
        #expect(statistics.feedback.keyframeRequests == 3)
        #expect(statistics.feedback.resendsRateLimited == 1)
        #expect(statistics.parameterSetResends >= 1)
        #expect(statistics.retransmittedPackets == 1)
        #expect(statistics.rtcpErrors == ["rtcp_bad_version": 1])

        try await waitUntil(timeout: .seconds(10), "the BYE") {
            drain()
            return rtcp.contains { if case .goodbye(let bye) = $0 { bye.sources == [session.ssrc] } else { false } }
        }
        let report = rtcp.compactMap { if case .senderReport(let report) = $0 { report } else { nil } }.first
        #expect(report?.ssrc == session.ssrc)
        let cname = rtcp.compactMap { if case .sourceDescription(let chunks) = $0 { chunks.first?.cname } else { nil } }.first
        #expect(cname == session.cname)
        #expect(cname == "outpost@127.0.0.1")
    }

    @Test("the first sender report goes out at half the minimum interval, before a short clip ends")
    func firstSenderReport() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        // The default 5 s minimum: the first SR is due 2.5 s after the first packet.
        let request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port, rtcpPort: receiver.localAddress.port)
        let controller = StreamController(logger: StreamFixtures.logger)
        _ = try await controller.start(request)
        let clock = ContinuousClock()
        var firstRTP: ContinuousClock.Instant?
        var firstReport: ContinuousClock.Instant?
        try await waitUntil(timeout: .seconds(20), every: .milliseconds(20), "the first sender report") {
            while let (bytes, _) = receiver.receive() {
                let now = clock.now
                if (192...223).contains(bytes[1]) {
                    if firstReport == nil, (try? RTCPCodec.decode(bytes))?.contains(where: { if case .senderReport = $0 { true } else { false } }) == true {
                        firstReport = now
                    }
                } else if firstRTP == nil {
                    firstRTP = now
                }
            }
            return firstReport != nil
        }
        _ = await controller.stop()
        let delay = try #require(firstReport) - (try #require(firstRTP))
        #expect(delay >= .milliseconds(2000) && delay <= .milliseconds(4000), "first SR after \(delay)")
    }

    @Test("with rtcp-mux, feedback arrives on the RTP port and the SDP says so")
    func rtcpMux() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port)
        request.options.rtcpMux = true
        let controller = StreamController(logger: StreamFixtures.logger)
        let session = try await controller.start(request)
        #expect(session.localRTCP == session.localRTP)
        #expect(session.destinationRTCP == session.destinationRTP)
        #expect(session.sdp.contains("a=rtcp-mux\r\n"))
        #expect(session.sdp.contains("a=rtcp:\(session.localRTP.port) IN IP4 127.0.0.1\r\n"))
        let peer = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        peer.send(RTCPCodec.encode([.pictureLossIndication(.init(senderSSRC: 7, mediaSSRC: session.ssrc))]), to: session.localRTP)
        try await waitUntil(timeout: .seconds(20), "the PLI on the RTP port") { await controller.statistics?.feedback.pli == 1 }
        let statistics = try #require(await controller.stop())
        #expect(statistics.feedback.pli == 1)
        #expect(statistics.packetsSent > 0)
    }

    @Test("IPv6: the SDP says IN IP6 with the routed address and RTP arrives")
    func ipv6Loopback() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        guard let receiver = try? UDPSocket(binding: SocketAddress(host: "::1", port: 0, family: .ipv6)) else {
            Issue.record("no IPv6 loopback on this host")
            return
        }
        let request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "::1",
                                    rtpPort: receiver.localAddress.port)
        let controller = StreamController(logger: StreamFixtures.logger)
        let session = try await controller.start(request)
        #expect(session.sdp.contains("c=IN IP6 ::1\r\n"))
        #expect(session.localRTP.family == .ipv6)
        var received = 0
        try await waitUntil(timeout: .seconds(20), "RTP over IPv6") {
            while receiver.receive() != nil { received += 1 }
            return received >= 10
        }
        let statistics = try #require(await controller.stop())
        #expect(statistics.sendErrors == 0)
    }

    @Test("a source without SPS/PPS fails preparation with no_parameter_sets; a second stream is refused while one runs")
    func failures() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let garbage = directory.file("garbage.h264")
        try Data([0, 0, 1, 0x41, 0x9A, 0x01, 0, 0, 1, 0x41, 0x9A, 0x02]).write(to: URL(fileURLWithPath: garbage))
        let controller = StreamController(logger: StreamFixtures.logger)
        await #expect(throws: StreamError(.noParameterSets, "")) {
            try await controller.prepare(StreamRequest(source: .file(path: garbage, framesPerSecond: 30, loop: false),
                                                       destinationHost: "127.0.0.1", rtpPort: 9))
        }
        await #expect(throws: StreamError(.sourceFailed, "")) {
            try await controller.prepare(StreamRequest(source: .file(path: directory.file("missing"), framesPerSecond: 30, loop: false),
                                                       destinationHost: "127.0.0.1", rtpPort: 9))
        }
        let file = try await StreamFixtures.smallStream(in: directory)
        let request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1", rtpPort: 9)
        _ = try await controller.start(request)
        await #expect(throws: StreamError(.alreadyStreaming, "")) { try await controller.start(request) }
        await controller.stop()
        _ = try await controller.start(request)
        #expect(await controller.stop() != nil)
    }
}
