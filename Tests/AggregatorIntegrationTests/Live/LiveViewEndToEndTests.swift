import AsyncHTTPClient
import Foundation
@testable import OutpostAgent
import OutpostAggregator
import OutpostSupport
@testable import OutpostSRTP
import OutpostStreaming
import TestHarness
import Testing

/// Live view end to end: a real Janus (configured by `janus-config`'s generator), the
/// aggregator as `serve` wires it, and a real `outpost-agent run` streaming an ffmpeg
/// `testsrc2` clip as SRTP into the mountpoint.
@Suite("Live view through a real Janus", .serialized)
struct LiveViewEndToEndTests {
    static let device = "cam-live"

    /// A 10 s H.264 baseline clip of ffmpeg's testsrc2, 30 fps, a keyframe every second.
    static func clip(in directory: String) async throws -> String {
        let path = (directory as NSString).appendingPathComponent("testsrc2.h264")
        try await runTool(locateTool("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                                          "-t", "10", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "30",
                                          "-bf", "0", "-f", "h264", path])
        return path
    }

    /// Janus, the fleet with live view on, and one camera agent streaming the clip in a loop.
    static func withCamera(idleTimeout: Int = 60,
                           _ body: (FleetFixture, JanusFixture, ServerProcess, LiveKeys) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-live")
        defer { directory.remove() }
        let clip = try await clip(in: directory.path)
        let janus = try await JanusFixture(directory: directory.path, settings: LiveSettings(
            mediaAddress: "127.0.0.1", rtpPortRange: "47000-47999", idleTimeoutSeconds: idleTimeout, checkIntervalSeconds: 1))
        do {
            try await FleetFixture.with(configure: { $0.live = janus.settings }) { fleet in
                let postgres = fleet.broker.identity.postgres
                let agent = try await fleet.startAgent(device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)],
                                                       logLevel: .debug)
                _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(device)'")
                try await waitUntil(timeout: .seconds(60), "\(device) online") {
                    try await postgres.psql("SELECT status FROM devices WHERE id = '\(device)'") == "online"
                }
                try await body(fleet, janus, agent, try await LiveKeys(postgres: postgres))
            }
        } catch {
            print("--- janus log (tail) ---\n\(janus.process.log.suffix(4_000))")
            await janus.stop()
            throw error
        }
        await janus.stop()
    }

    @Test("start: one SRTP mountpoint with the offer's H.264 parameters, shared by a second viewer; the capture to Janus never opens without the key; the key is nowhere in logs, API answers or the audit log; stop removes the mountpoint and ends the agent's stream",
          .timeLimit(.minutes(5)))
    func startShareStop() async throws {
        let capture = OutputCapture(path: NSTemporaryDirectory() + "outpost-live-aggregator-\(getpid()).log")
        var aggregatorOutput = ""
        var keyToFind: String?
        do {
            try await Self.withCamera { fleet, janus, agent, keys in
                let viewer = try await fleet.apiKey(.viewer), operatorKey = try await fleet.apiKey(.operator), admin = try await fleet.apiKey(.admin)
                let started = try await fleet.api.send(.POST, "/api/v1/devices/\(Self.device)/live", token: viewer, json: [:])
                #expect(started.status == 201, "\(started.text)")
                let mountpoint = try #require(started.json["mountpoint"]?.intValue)
                #expect(started.json["reused"]?.boolValue == false)
                #expect(started.json["janusPath"]?.stringValue == "/api/v1/live/janus")
                let key = try #require(try await keys.all().first)
                keyToFind = key
                #expect(try await keys.all().count == 1)
                #expect(!started.text.contains(key))

                let gateway = JanusClient(baseURL: janus.settings.janusUrl!, secrets: janus.secrets)
                let info = try #require(try await gateway.mountpointInfo(id: mountpoint))
                #expect(info.srtp)
                #expect(info.viewers == 0)
                let shown = try await fleet.api.send(.GET, "/api/v1/devices/\(Self.device)/live", token: viewer)
                #expect(shown.status == 200)
                #expect(shown.json["mountpoint"]?.intValue == mountpoint)
                #expect(shown.json["viewers"]?.intValue == 0)
                let fmtp = try #require(info.fmtp)
                #expect(fmtp.contains("packetization-mode=1"))
                #expect(fmtp.contains("profile-level-id=42"), "baseline profile from the clip's SPS: \(fmtp)")
                #expect(fmtp.contains("sprop-parameter-sets="))
                let rtpPort = try #require(info.rtpPort)
                #expect((47_000...47_999).contains(rtpPort))

                // What crosses the wire to Janus's RTP port.
                let wire = try LoopbackCapture(udpPort: rtpPort)
                var packets: [[UInt8]] = []
                try await waitUntil(timeout: .seconds(30), every: .milliseconds(20), "150 packets to Janus") {
                    packets += wire.drain()
                    return packets.count >= 150
                }
                let opener = try SRTPContext(key: SRTPKey(base64: key), direction: .inbound)
                let wrong = try SRTPContext(key: SRTPKey.random(), direction: .inbound)
                var nalTypes = Set<UInt8>()
                var plainOnWire = 0
                for packet in packets {
                    #expect(throws: StreamError(.srtpRejected, "")) { try wrong.unprotectRTP(packet) }
                    let plain = try opener.unprotectRTP(packet)
                    #expect(plain.count == packet.count - 10, "an 80-bit auth tag on every packet")
                    if plain[12...] == packet[12..<plain.count] { plainOnWire += 1 }
                    nalTypes.insert(plain[12] & 0x1F)
                }
                #expect(plainOnWire == 0, "payloads sent in the clear")
                #expect(nalTypes.contains(24) && nalTypes.contains(28), "STAP-A and FU-A inside: \(nalTypes.sorted())")
                #expect(try await gateway.mountpointInfo(id: mountpoint).map { $0.mediaAgeMs ?? .max } ?? .max < 2_000)

                // A second viewer joins the same mountpoint; the agent keeps one stream.
                let again = try await fleet.api.send(.POST, "/api/v1/devices/\(Self.device)/live", token: viewer, json: [:])
                #expect(again.status == 200)
                #expect(again.json["mountpoint"]?.intValue == mountpoint)
                #expect(again.json["reused"]?.boolValue == true)
                #expect(try await fleet.broker.identity.postgres.psql("SELECT count(*) FROM commands WHERE name = 'start_stream'") == "1")

                // The key is redacted wherever commands are kept or shown.
                let postgres = fleet.broker.identity.postgres
                #expect(try await postgres.psql("SELECT args->>'srtpKey' FROM commands WHERE name = 'start_stream'") == SRTPKeyText.redactedKey)
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE args::text LIKE '%' || '\(key)' || '%'") == "0")
                #expect(try await postgres.psql("SELECT count(*) FROM audit_log WHERE details::text LIKE '%' || '\(key)' || '%'") == "0")
                let listed = try await fleet.api.send(.GET, "/api/v1/devices/\(Self.device)/commands", token: viewer)
                #expect(listed.status == 200)
                #expect(!listed.text.contains(key))
                #expect(listed.text.contains(SRTPKeyText.redactedKey))
                let audit = try await fleet.api.send(.GET, "/api/v1/audit?limit=200", token: admin)
                #expect(audit.status == 200)
                #expect(!audit.text.contains(key))
                #expect(audit.text.contains("live.start"))

                // Only the mountpoints that are live may be watched through the relay, and nothing else may be done.
                let session = try await fleet.api.send(.POST, "/api/v1/live/janus", token: viewer, json: ["janus": "create", "transaction": "t1"])
                #expect(session.json["janus"]?.stringValue == "success")
                let sessionID = try #require(session.json["data"]?["id"]?.doubleValue).description.replacingOccurrences(of: ".0", with: "")
                let attachVideoroom = try await fleet.api.send(.POST, "/api/v1/live/janus/\(sessionID)", token: viewer,
                                                               json: ["janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": "t2"])
                #expect(attachVideoroom.status == 403)
                #expect(attachVideoroom.errorCode == "live_request_refused")
                let handle = try await fleet.api.send(.POST, "/api/v1/live/janus/\(sessionID)", token: viewer,
                                                      json: ["janus": "attach", "plugin": "janus.plugin.streaming", "transaction": "t3"])
                let handleID = try #require(handle.json["data"]?["id"]?.doubleValue).description.replacingOccurrences(of: ".0", with: "")
                for forbidden: JSONValue in [["request": "list"], ["request": "destroy", "id": .number(Double(mountpoint))],
                                             ["request": "info", "id": .number(Double(mountpoint))], ["request": "watch", "id": 12345]] {
                    let reply = try await fleet.api.send(.POST, "/api/v1/live/janus/\(sessionID)/\(handleID)", token: viewer,
                                                         json: ["janus": "message", "transaction": "t4", "body": forbidden])
                    #expect(reply.status == 403, "\(forbidden)")
                }
                #expect(try await gateway.mountpointInfo(id: mountpoint) != nil)
                let metrics = try await fleet.api.http.get(url: "https://127.0.0.1:\(fleet.configuration.http.port)/metrics").get()
                let metricsText = metrics.body.map { String(buffer: $0) } ?? ""
                #expect(metricsText.contains("outpost_live_events_total{event=\"refused\",reason=\"\"} 5"), "\(metricsText.suffix(2_000))")
                // The session belongs to the caller that created it: another caller's token, even an admin's, cannot use it.
                #expect(try await postgres.psql("SELECT count(*) FROM live_relay_sessions WHERE janus_session = \(sessionID)") == "1")
                for (path, json) in [("/api/v1/live/janus/\(sessionID)", ["janus": "keepalive", "transaction": "t6"] as JSONValue),
                                     ("/api/v1/live/janus/\(sessionID)/\(handleID)",
                                      ["janus": "message", "transaction": "t7", "body": ["request": "watch", "id": .number(Double(mountpoint))]]),
                                     ("/api/v1/live/janus/\(sessionID)", ["janus": "destroy", "transaction": "t8"])] {
                    let foreign = try await fleet.api.send(.POST, path, token: admin, json: json)
                    #expect(foreign.status == 403, "\(path) \(json)")
                    #expect(foreign.errorCode == "live_request_refused", "\(path) \(json)")
                }
                let foreignPoll = try await fleet.api.send(.GET, "/api/v1/live/janus/\(sessionID)?maxev=1", token: operatorKey)
                #expect(foreignPoll.status == 403)
                #expect(try await fleet.api.send(.POST, "/api/v1/live/janus/\(sessionID)", token: viewer,
                                                 json: ["janus": "keepalive", "transaction": "t9"]).json["janus"] == "ack")
                _ = try await fleet.api.send(.POST, "/api/v1/live/janus/\(sessionID)", token: viewer, json: ["janus": "destroy", "transaction": "t5"])
                #expect(try await postgres.psql("SELECT count(*) FROM live_relay_sessions") == "0")

                // Stop: an operator's call; the mountpoint goes, the agent's stream ends.
                let refused = try await fleet.api.send(.DELETE, "/api/v1/devices/\(Self.device)/live", token: viewer)
                #expect(refused.status == 403)
                let stopped = try await fleet.api.send(.DELETE, "/api/v1/devices/\(Self.device)/live", token: operatorKey)
                #expect(stopped.status == 204)
                #expect(try await gateway.mountpointInfo(id: mountpoint) == nil)
                #expect(try await fleet.api.send(.GET, "/api/v1/devices/\(Self.device)/live", token: viewer).status == 404)
                try await waitUntil(timeout: .seconds(30), "the agent's stream stopped") {
                    try await postgres.psql("SELECT status FROM commands WHERE name = 'stop_stream'") == "succeeded"
                }
                #expect(!agent.log.contains(key), "the agent's log holds the key")
                #expect(agent.log.contains("start_stream"), "the agent's debug log was read")
            }
        } catch {
            aggregatorOutput = capture.finish()
            throw error
        }
        aggregatorOutput = capture.finish()
        let key = try #require(keyToFind)
        #expect(!aggregatorOutput.contains(key), "the aggregator's log holds the key")
        #expect(aggregatorOutput.contains("live view started") || aggregatorOutput.contains("live"), "the aggregator's log was captured")
    }

    @Test("kill -9 of the agent: the mountpoint and the session go once the device is offline or idle", .timeLimit(.minutes(4)))
    func agentKilled() async throws {
        try await Self.withCamera(idleTimeout: 8) { fleet, janus, agent, _ in
            let viewer = try await fleet.apiKey(.viewer)
            let started = try await fleet.api.send(.POST, "/api/v1/devices/\(Self.device)/live", token: viewer, json: [:])
            #expect(started.status == 201, "\(started.text)")
            let mountpoint = try #require(started.json["mountpoint"]?.intValue)
            let gateway = JanusClient(baseURL: janus.settings.janusUrl!, secrets: janus.secrets)
            #expect(try await gateway.mountpointInfo(id: mountpoint) != nil)
            await agent.crash()
            try await waitUntil(timeout: .seconds(60), "the mountpoint removed") {
                try await gateway.mountpointInfo(id: mountpoint) == nil
            }
            let postgres = fleet.broker.identity.postgres
            #expect(try await postgres.psql("SELECT count(*) FROM live_sessions") == "0")
            let reason = try await postgres.psql("SELECT details->>'reason' FROM audit_log WHERE action = 'live.stop'")
            #expect(["device_offline", "no_media", "no_viewers"].contains(reason), "\(reason)")
        }
    }
}

/// Each start_stream's SRTP key as inserted, kept by a test-only trigger before the
/// aggregator's redaction: the tests need it to open the capture and to look for it.
struct LiveKeys {
    let postgres: PostgresServer

    init(postgres: PostgresServer) async throws {
        self.postgres = postgres
        _ = try await postgres.psql("""
            CREATE TABLE test_srtp_keys (key text NOT NULL);
            CREATE FUNCTION test_keep_srtp_key() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.args ? 'srtpKey' THEN INSERT INTO test_srtp_keys VALUES (NEW.args ->> 'srtpKey'); END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_keep_srtp_key AFTER INSERT ON commands FOR EACH ROW EXECUTE FUNCTION test_keep_srtp_key();
            """)
    }

    func all() async throws -> [String] {
        try await postgres.psql("SELECT key FROM test_srtp_keys").split(separator: "\n").map(String.init)
    }
}
