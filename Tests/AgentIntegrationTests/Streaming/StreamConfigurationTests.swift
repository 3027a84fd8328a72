import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostSupport
@testable import OutpostWire
@testable import OutpostStreaming

@Suite("SDP offer and stream requests")
struct StreamConfigurationTests {
    static let parameterSets = ParameterSets(sps: H264NALUnit([0x67, 0x42, 0xC0, 0x1E, 0xD9])!, pps: H264NALUnit([0x68, 0xCE, 0x3C, 0x80])!)

    @Test("the SDP offer is exact: routed address in o= and c=, the receiver's port in m=, our RTCP port in a=rtcp")
    func sdpText() {
        let offer = SDPOffer(originAddress: SocketAddress(host: "192.168.1.20", port: 40_000, family: .ipv4), sessionID: 42,
                             sessionName: "cam-0007", mediaPort: 5004, rtcpPort: 40_001, rtcpMux: false,
                             parameterSets: Self.parameterSets, ssrc: 0x1122_3344, cname: "outpost@192.168.1.20")
        let expected = """
            v=0
            o=- 42 1 IN IP4 192.168.1.20
            s=cam-0007
            c=IN IP4 192.168.1.20
            t=0 0
            a=tool:outpost-agent
            m=video 5004 RTP/AVPF 96
            a=rtpmap:96 H264/90000
            a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtk=,aM48gA==
            a=rtcp-fb:96 nack
            a=rtcp-fb:96 nack pli
            a=rtcp-fb:96 ccm fir
            a=rtcp-fb:96 goog-remb
            a=rtcp:40001 IN IP4 192.168.1.20
            a=ssrc:287454020 cname:outpost@192.168.1.20

            """.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(offer.text == expected)
    }

    @Test("IPv6 and rtcp-mux are written as such; CR/LF cannot be injected through the session name")
    func sdpVariants() {
        let offer = SDPOffer(originAddress: SocketAddress(host: "fd00::20", port: 40_000, family: .ipv6), sessionID: 7,
                             sessionName: "evil\r\na=inject", mediaPort: 5004, rtcpPort: 40_000, rtcpMux: true,
                             parameterSets: Self.parameterSets, ssrc: 1, cname: "c")
        #expect(offer.text.contains("o=- 7 1 IN IP6 fd00::20\r\n"))
        #expect(offer.text.contains("c=IN IP6 fd00::20\r\n"))
        #expect(offer.text.contains("a=rtcp-mux\r\n"))
        #expect(offer.text.contains("s=evila=inject\r\n"))
        #expect(!offer.text.contains("\r\na=inject"))
    }

    @Test("the route lookup gives a real local address, never the unspecified one")
    func routeLookup() throws {
        let loopback = try RouteLookup.sourceAddress(toward: SocketAddress(host: "127.0.0.1", port: 5004, family: .ipv4))
        #expect(loopback.host == "127.0.0.1")
        let alsoLoopback = try RouteLookup.sourceAddress(toward: SocketAddress(host: "127.3.4.5", port: 5004, family: .ipv4))
        #expect(!alsoLoopback.isUnspecified)
    }

    @Test("start_stream arguments: a configured source by name, ports, options with defaults")
    func arguments() throws {
        let sources: [String: StreamSource] = ["camera": .command(arguments: ["libcamera-vid", "-t", "0", "--inline", "-b", "{bitrate}", "-o", "-"])]
        let request = try StreamRequest(arguments: [
            "source": "camera", "host": "10.0.0.5", "rtpPort": 5004, "rtcpMux": true, "expectFeedback": true,
            "feedbackTimeoutSeconds": 20, "onFeedbackLoss": "stop", "bitrate": 1_500_000, "statsIntervalSeconds": 2,
        ], sources: sources)
        #expect(request.destinationHost == "10.0.0.5")
        #expect(request.effectiveRTCPPort == 5004)
        #expect(request.options.rtcpMux)
        #expect(request.options.feedbackTimeout == .seconds(20))
        #expect(request.options.onFeedbackLoss == .stop)
        #expect(request.options.bitrate == 1_500_000)
        #expect(request.options.statsInterval == .seconds(2))
        #expect(request.options.payloadSize == 1200)
        #expect(request.source.adaptsBitrate)
        let plain = try StreamRequest(arguments: ["source": "camera", "host": "h", "rtpPort": 6000], sources: sources)
        #expect(plain.effectiveRTCPPort == 6001)
        #expect(plain.options == StreamOptions())

        let bad: [JSONValue] = [
            ["host": "h", "rtpPort": 1],
            ["source": "/etc/shadow", "host": "h", "rtpPort": 1],
            ["source": "camera", "rtpPort": 1],
            ["source": "camera", "host": "h", "rtpPort": 70_000],
            ["source": "camera", "host": "h", "rtpPort": "5004"],
            ["source": "camera", "host": "h", "rtpPort": 5004, "payloadSize": 9000],
            ["source": "camera", "host": "h", "rtpPort": 5004, "onFeedbackLoss": "explode"],
            ["source": "camera", "host": "h", "rtpPort": 5004, "minBitrate": 9_000_000],
            "not an object",
        ]
        for arguments in bad {
            #expect(throws: StreamError(.invalidRequest, "")) { try StreamRequest(arguments: arguments, sources: sources) }
        }
    }

    @Test("sources parse from the command line and from JSON; placeholders expand")
    func sources() throws {
        #expect(try StreamSource.parse("/tmp/a.h264", framesPerSecond: 25, loop: true) == .file(path: "/tmp/a.h264", framesPerSecond: 25, loop: true))
        #expect(try StreamSource.parse("fifo:/run/cam", framesPerSecond: 30, loop: false) == .fifo(path: "/run/cam"))
        #expect(try StreamSource.parse("cmd:enc -b {bitrate}", framesPerSecond: 30, loop: false) == .command(arguments: ["enc", "-b", "{bitrate}"]))
        #expect(try StreamSource(json: ["kind": "command", "argv": ["a", "{bitrate_kbps}k"]]) == .command(arguments: ["a", "{bitrate_kbps}k"]))
        #expect(throws: StreamError(.invalidRequest, "")) { try StreamSource(json: ["kind": "command", "argv": ["a", 1]]) }
        #expect(CommandByteSource.expand(["x", "-b:v", "{bitrate}", "{bitrate_kbps}k"], bitrate: 500_000) == ["x", "-b:v", "500000", "500k"])
        #expect(try AgentCommand.Stream.splitHostPort("[fd00::2]:5004") == ("fd00::2", 5004))
        #expect(try AgentCommand.Stream.splitHostPort("cam.example:6000") == ("cam.example", 6000))
        #expect(throws: StreamError(.invalidRequest, "")) { try AgentCommand.Stream.splitHostPort("nohost") }
    }

    @Test("stats become DeviceEvent data that passes the wire validation")
    func statsEvent() throws {
        var statistics = StreamStatistics()
        statistics.packetsSent = 10
        statistics.feedback.pli = 2
        statistics.rembBitrate = 500_000
        let event = StreamEvent.statistics(statistics)
        #expect(event.kind == DeviceEvent.Kind.streamStats)
        #expect(event.data["packets"]?.intValue == 10)
        #expect(event.data["keyframeRequests"]?.intValue == 2)
        #expect(event.data["rembBps"]?.intValue == 500_000)
        let device = try #require(DeviceID("cam-0007"))
        try DeviceEvent(device: device, ts: 1_763_800_000_000, kind: event.kind, data: event.data)
            .validate(limits: WireLimits(), nowMs: 1_763_800_000_000)
    }

    @Test("--sdp-out writes a regular file atomically with mode 0644, and writes into a FIFO without replacing it")
    func writeOffer() throws {
        let directory = try TemporaryDirectory(prefix: "outpost-sdp")
        defer { directory.remove() }
        let file = directory.file("offer.sdp")
        try AgentCommand.Stream.writeOffer("v=0\r\n", to: file)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "v=0\r\n")
        var info = stat()
        #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o644)
        let fifo = directory.file("offer.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // A reader opened first (non-blocking) lets the writer's open return at once.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        try AgentCommand.Stream.writeOffer("v=0\r\n", to: fifo)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(reader, &buffer, buffer.count)
        #expect(count == 5 && Array(buffer[0..<5]) == Array("v=0\r\n".utf8))
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }
}
