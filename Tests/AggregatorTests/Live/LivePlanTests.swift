import Foundation
import OutpostAggregator
import OutpostSupport
import Testing

@Suite("Live view decisions (no network)")
struct LivePlanTests {
    static let offer = """
        v=0\r
        o=- 42 1 IN IP4 192.168.1.20\r
        s=outpost-agent\r
        c=IN IP4 192.168.1.20\r
        t=0 0\r
        m=video 5004 RTP/SAVPF 96\r
        a=rtpmap:96 H264/90000\r
        a=fmtp:96 packetization-mode=1;profile-level-id=42C01E;sprop-parameter-sets=Z0LAHtk=,aM48gA==\r
        a=rtcp:45581 IN IP4 192.168.1.20\r

        """

    @Test("stop_stream names the destination the live view's start_stream named")
    func stopArguments() {
        #expect(LivePlan.stopArguments(host: "127.0.0.1", rtpPort: 5004) == ["host": "127.0.0.1", "rtpPort": 5004])
    }

    @Test("the offer's H.264 fmtp: payload type, packetization-mode, profile-level-id (lower case), sprop-parameter-sets")
    func formatParameters() throws {
        let format = try LivePlan.h264FormatParameters(offer: Self.offer)
        #expect(format.payloadType == 96)
        #expect(format.fmtp == "packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtk=,aM48gA==")
    }

    @Test("offers without H.264, its fmtp, or a valid profile-level-id are refused with live_bad_offer")
    func badOffers() {
        let cases = [
            Self.offer.replacingOccurrences(of: "H264/90000", with: "VP8/90000"),
            Self.offer.replacingOccurrences(of: "a=fmtp:96", with: "a=fmtp:97"),
            Self.offer.replacingOccurrences(of: "profile-level-id=42C01E", with: "profile-level-id=42zz1E"),
            Self.offer.replacingOccurrences(of: "profile-level-id=42C01E;", with: ""),
        ]
        for offer in cases {
            #expect(throws: LiveError.self) { try LivePlan.h264FormatParameters(offer: offer) }
            do throws(LiveError) { _ = try LivePlan.h264FormatParameters(offer: offer) } catch { #expect(error.code == .badOffer) }
        }
    }

    @Test("sprop-parameter-sets with characters outside base64 are dropped, not passed to Janus")
    func oddParameterSets() throws {
        let offer = Self.offer.replacingOccurrences(of: "Z0LAHtk=,aM48gA==", with: "Z0L\"AH")
        #expect(try LivePlan.h264FormatParameters(offer: offer).fmtp == "packetization-mode=1;profile-level-id=42c01e")
    }

    @Test("a fresh SRTP key per call: base64 of 30 bytes")
    func keys() {
        let a = SRTPKeyText.generate(), b = SRTPKeyText.generate()
        #expect(a != b)
        #expect(Data(base64Encoded: a)?.count == 30)
    }

    @Test("redaction replaces srtpKey and leaves everything else")
    func redaction() {
        let args: JSONValue = ["source": "camera", "srtpKey": "c2VjcmV0", "rtpPort": 5004]
        #expect(SRTPKeyText.redacted(args) == ["source": "camera", "srtpKey": .string(SRTPKeyText.redactedKey), "rtpPort": 5004])
        #expect(SRTPKeyText.redacted(["source": "camera"]) == ["source": "camera"])
        #expect(SRTPKeyText.redacted(["srtpKey": .null]) == ["srtpKey": .null])
    }

    @Test("the mountpoint request: RTP, video only, SRTP suite 80 with the key, no keyframe buffer, the routed address, private")
    func mountpointRequest() {
        let request = LivePlan.createMountpoint(id: 7, device: "cam-1", address: "192.168.1.5", ports: (5004, 5005), payloadType: 96,
                                                fmtp: "packetization-mode=1;profile-level-id=42c01e", srtpKey: "KEY", adminKey: "ADMIN")
        #expect(request["request"] == "create")
        #expect(request["type"] == "rtp")
        #expect(request["srtpsuite"] == 80)
        #expect(request["srtpcrypto"] == "KEY")
        #expect(request["videobufferkf"] == false)
        #expect(request["is_private"] == true)
        #expect(request["admin_key"] == "ADMIN")
        #expect(request["secret"] == "ADMIN")
        guard case .array(let media)? = request["media"], let video = media.first else {
            Issue.record("no media")
            return
        }
        #expect(media.count == 1)
        #expect(video["type"] == "video")
        #expect(video["codec"] == "h264")
        #expect(video["iface"] == "192.168.1.5")
        #expect(video["port"] == 5004)
        #expect(video["rtcpport"] == 5005)
        #expect(video["fmtp"] == "packetization-mode=1;profile-level-id=42c01e")
        let unset = LivePlan.createMountpoint(id: 7, device: "cam-1", address: "10.0.0.1", ports: nil, payloadType: 96, fmtp: nil,
                                              srtpKey: "KEY", adminKey: "ADMIN")
        if case .array(let media)? = unset["media"] {
            #expect(media.first?["port"] == 0)
            #expect(media.first?["fmtp"] == nil)
        }
    }

    @Test("teardown: gateway lost, device offline, no viewer for the idle timeout, no media for it; otherwise kept")
    func teardown() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        func reason(offline: Bool = false, exists: Bool = true, viewers: Int = 1, idle: TimeInterval = 0, age: Int? = 100,
                    started: TimeInterval = 3600) -> String? {
            LivePlan.teardownReason(deviceOffline: offline, exists: exists, viewers: viewers, idleSince: now - idle, mediaAgeMs: age,
                                    startedAt: now - started, now: now, idleTimeout: 60)
        }
        #expect(reason() == nil)
        #expect(reason(exists: false) == "gateway_lost")
        #expect(reason(offline: true) == "device_offline")
        #expect(reason(viewers: 0, idle: 59) == nil)
        #expect(reason(viewers: 0, idle: 60) == "no_viewers")
        #expect(reason(viewers: 3, idle: 600) == nil)
        #expect(reason(age: 59_999) == nil)
        #expect(reason(age: 60_000) == "no_media")
        // No packet ever: kept for the idle timeout after the start, then ended as no_media.
        #expect(reason(age: nil, started: 59) == nil)
        #expect(reason(age: nil, started: 60) == "no_media")
    }

    @Test("the browser's Janus requests: sessions, the streaming plugin, watching live mountpoints; nothing else")
    func browserRequests() throws {
        let live: Set<Int> = [7]
        for allowed: JSONValue in [
            ["janus": "create"], ["janus": "keepalive"], ["janus": "trickle", "candidate": ["completed": true]], ["janus": "hangup"],
            ["janus": "detach"], ["janus": "destroy"], ["janus": "attach", "plugin": "janus.plugin.streaming"],
            ["janus": "message", "body": ["request": "watch", "id": 7]], ["janus": "message", "body": ["request": "start"]],
            ["janus": "message", "body": ["request": "pause"]], ["janus": "message", "body": ["request": "stop"]],
        ] {
            try LivePlan.checkBrowserRequest(allowed, watchable: live)
        }
        for refused: JSONValue in [
            ["janus": "attach", "plugin": "janus.plugin.videoroom"], ["janus": "attach"], ["janus": "info"], ["nothing": 1],
            ["janus": "message", "body": ["request": "watch", "id": 8]], ["janus": "message", "body": ["request": "watch"]],
            ["janus": "message", "body": ["request": "create", "type": "rtp"]], ["janus": "message", "body": ["request": "destroy", "id": 7]],
            ["janus": "message", "body": ["request": "list"]], ["janus": "message", "body": ["request": "info", "id": 7]],
            ["janus": "message", "body": ["request": "edit", "id": 7]], ["janus": "message"],
        ] {
            #expect(throws: LiveError.self, "\(refused)") { try LivePlan.checkBrowserRequest(refused, watchable: live) }
            do throws(LiveError) { try LivePlan.checkBrowserRequest(refused, watchable: live) } catch { #expect(error.code == .requestRefused) }
        }
    }
}

@Suite("Janus configuration generator")
struct JanusConfigGeneratorTests {
    @Test("HTTP API on 127.0.0.1 only, streaming plugin only, secrets in place, ICE interface named; files 0600")
    func generated() throws {
        var settings = LiveSettings(rtpPortRange: "30000-30999", iceInterface: "veth-live")
        settings.httpPort = 18_088
        let generator = JanusConfigGenerator(settings: settings, libraryDir: "/usr/lib/x86_64-linux-gnu/janus")
        let secrets = JanusConfigGenerator.Secrets(apiSecret: "API", adminKey: "ADMIN")
        let files = generator.files(directory: "/tmp/j", secrets: secrets)
        #expect(Set(files.keys) == ["janus.jcfg", "janus.transport.http.jcfg", "janus.plugin.streaming.jcfg"])
        let core = try #require(files["janus.jcfg"]), http = try #require(files["janus.transport.http.jcfg"])
        let streaming = try #require(files["janus.plugin.streaming.jcfg"])
        #expect(core.contains("configs_folder = \"/tmp/j\""))
        #expect(core.contains("api_secret = \"API\""))
        #expect(core.contains("ice_enforce_list = \"veth-live\""))
        #expect(core.contains("rtp_port_range = \"30000-30999\""))
        for plugin in ["videoroom", "echotest", "sip", "audiobridge"] { #expect(core.contains("libjanus_\(plugin).so")) }
        #expect(!core.contains("libjanus_streaming.so"))
        for transport in ["websockets", "mqtt", "pfunix", "rabbitmq", "nanomsg"] { #expect(core.contains("libjanus_\(transport).so")) }
        #expect(!core.contains("libjanus_http.so"))
        #expect(http.contains("ip = \"127.0.0.1\""))
        #expect(http.contains("port = 18088"))
        #expect(http.contains("admin_http = false"))
        #expect(!(files.values.contains { $0.contains("0.0.0.0") }))
        #expect(streaming.contains("admin_key = \"ADMIN\""))

        let directory = NSTemporaryDirectory() + "outpost-janus-config-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = try generator.write(to: directory)
        #expect(written.apiSecret.count >= 32)
        #expect(try JanusConfigGenerator.readSecrets(from: directory) == written)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
    }

    @Test("live settings refuse a wildcard media or HTTP address and a bad port range")
    func settings() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        for bad in [#"{"media_address": "0.0.0.0"}"#, #"{"http_address": "::"}"#, #"{"rtp_port_range": "50-60"}"#,
                    #"{"janus_url": "ftp://x"}"#, #"{"idle_timeout_seconds": 1}"#] {
            #expect(throws: (any Error).self, "\(bad)") { try decoder.decode(LiveSettings.self, from: Data(bad.utf8)) }
        }
        let good = try decoder.decode(LiveSettings.self, from: Data(#"{"janus_url": "http://127.0.0.1:8088/janus", "media_address": "10.0.0.2"}"#.utf8))
        #expect(good.janusUrl == "http://127.0.0.1:8088/janus")
        #expect(good.httpAddress == "127.0.0.1")
        #expect(good.idleTimeoutSeconds == 60)
    }
}
