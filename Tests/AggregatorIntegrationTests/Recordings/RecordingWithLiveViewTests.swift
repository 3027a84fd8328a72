import Foundation
import Logging
import OutpostAgent
@testable import OutpostAggregator
import OutpostSupport
import OutpostWire
import TestHarness
import Testing

/// One stream feeds both: a camera being recorded is watched live through a real Janus,
/// fed by the recorder's relay with the same key; the agent is asked for one stream only.
@Suite("Recording and live view of one camera, one stream", .serialized)
struct RecordingWithLiveViewTests {
    static let device = "cam-both"

    @Test("live view of a recorded camera: Janus gets the media through the relay, no second start_stream, recording goes on; stopping live view leaves the agent's stream and the recording alone",
          .timeLimit(.minutes(5)))
    func oneStreamFeedsBoth() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rec-live")
        defer { directory.remove() }
        let clip = try await RecordingEndToEndTests.clip(in: directory.path)
        let recordings = directory.file("recordings")
        let janus = try await JanusFixture(directory: directory.path, settings: LiveSettings(
            mediaAddress: "127.0.0.1", rtpPortRange: "47000-47999", idleTimeoutSeconds: 60, checkIntervalSeconds: 1))
        do {
            try await FleetFixture.with(configure: {
                $0.live = janus.settings
                $0.recordings = RecordingSettings(enabled: true, directory: recordings, mediaAddress: "127.0.0.1", rtpPortRange: "44000-44999",
                                                  segmentSeconds: 3, ffmpegPath: try! locateTool("ffmpeg"), ffprobePath: try! locateTool("ffprobe"),
                                                  floorPercent: 0, floorBytes: 0, checkIntervalSeconds: 1)
            }) { fleet in
                let postgres = fleet.broker.identity.postgres
                _ = try await fleet.startAgent(Self.device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)])
                _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(Self.device)'")
                try await waitUntil(timeout: .seconds(60), "\(Self.device) online") {
                    try await postgres.psql("SELECT status FROM devices WHERE id = '\(Self.device)'") == "online"
                }
                let operatorKey = try await fleet.apiKey(.operator), viewer = try await fleet.apiKey(.viewer)
                #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(Self.device)/recording", token: operatorKey,
                                                 json: ["mode": "continuous"]).status == 200)
                func segments() async throws -> Int { Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'complete'")) ?? 0 }
                try await waitUntil(timeout: .seconds(60), "the first segment") { try await segments() >= 1 }

                let started = try await fleet.api.send(.POST, "/api/v1/devices/\(Self.device)/live", token: viewer, json: [:])
                #expect(started.status == 201, "\(started.text)")
                let mountpoint = try #require(started.json["mountpoint"]?.intValue)
                let gateway = JanusClient(baseURL: janus.settings.janusUrl!, secrets: janus.secrets)
                try await waitUntil(timeout: .seconds(20), "media at Janus through the relay") {
                    (try await gateway.mountpointInfo(id: mountpoint)?.mediaAgeMs ?? .max) < 2_000
                }
                let info = try #require(try await gateway.mountpointInfo(id: mountpoint))
                #expect(info.srtp)
                #expect(info.fmtp?.contains("sprop-parameter-sets=") == true)
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE name = 'start_stream'") == "1", "one stream from the camera")
                // The relay reports what it receives to the agent (the engine and Janus send no receiver reports).
                var stats = ""
                try await waitUntil(timeout: .seconds(30), "the relay's receiver reports at the agent") {
                    stats = try await postgres.psql("""
                        SELECT data FROM device_events WHERE device = '\(Self.device)' AND kind = 'stream_stats' ORDER BY ts DESC LIMIT 1
                        """)
                    guard let data = try? JSONDecoder().decode(JSONValue.self, from: Data(stats.utf8)) else { return false }
                    return (data["receiverReports"]?.intValue ?? 0) > 0 && data["lsrMatched"]?.boolValue == true
                }
                print("agent's stream_stats with the relay's reports: \(stats)")
                let during = try await segments()
                try await waitUntil(timeout: .seconds(30), "recording goes on while watched") { try await segments() >= during + 2 }

                #expect(try await fleet.api.send(.DELETE, "/api/v1/devices/\(Self.device)/live", token: operatorKey).status == 204)
                #expect(try await gateway.mountpointInfo(id: mountpoint) == nil)
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE name = 'stop_stream'") == "0", "the recorder's stream stays")
                let after = try await segments()
                try await waitUntil(timeout: .seconds(30), "recording goes on after live view") { try await segments() >= after + 1 }
                #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(Self.device)/recording", token: operatorKey,
                                                 json: ["mode": "off"]).status == 200)
                try await RecordingEndToEndTests.waitStopped(fleet, recordings)
            }
        } catch {
            print("--- janus log (tail) ---\n\(janus.process.log.suffix(4_000))")
            await janus.stop()
            throw error
        }
        await janus.stop()
    }

    /// The longest time Janus went without media on `mountpoint` while `body` ran, sampled every 200 ms.
    static func longestGap(_ gateway: JanusClient, mountpoint: Int, while body: () async throws -> Void) async throws -> Int {
        let sampler = Task {
            var longest = 0
            while !Task.isCancelled {
                if let age = try? await gateway.mountpointInfo(id: mountpoint)?.mediaAgeMs { longest = max(longest, age) }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return longest
        }
        do { try await body() } catch {
            sampler.cancel()
            throw error
        }
        sampler.cancel()
        return await sampler.value
    }

    @Test("live view first, then recording: the recorder takes the agent's stream over with the live view's key, the mountpoint keeps receiving after a short gap, segments are recorded; recording off hands the stream back to the live view",
          .timeLimit(.minutes(5)))
    func recorderTakesOverLiveView() async throws {
        let device = "cam-live-first"
        let directory = try TemporaryDirectory(prefix: "outpost-live-rec")
        defer { directory.remove() }
        let clip = try await RecordingEndToEndTests.clip(in: directory.path)
        let recordings = directory.file("recordings")
        let janus = try await JanusFixture(directory: directory.path, settings: LiveSettings(
            mediaAddress: "127.0.0.1", rtpPortRange: "47000-47999", idleTimeoutSeconds: 60, checkIntervalSeconds: 1))
        do {
            try await FleetFixture.with(configure: {
                $0.live = janus.settings
                $0.recordings = RecordingSettings(enabled: true, directory: recordings, mediaAddress: "127.0.0.1", rtpPortRange: "44000-44999",
                                                  segmentSeconds: 3, ffmpegPath: try! locateTool("ffmpeg"), ffprobePath: try! locateTool("ffprobe"),
                                                  floorPercent: 0, floorBytes: 0, checkIntervalSeconds: 1)
            }) { fleet in
                let postgres = fleet.broker.identity.postgres
                _ = try await fleet.startAgent(device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)])
                _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(device)'")
                try await waitUntil(timeout: .seconds(60), "\(device) online") {
                    try await postgres.psql("SELECT status FROM devices WHERE id = '\(device)'") == "online"
                }
                let operatorKey = try await fleet.apiKey(.operator), viewer = try await fleet.apiKey(.viewer)
                let started = try await fleet.api.send(.POST, "/api/v1/devices/\(device)/live", token: viewer, json: [:])
                #expect(started.status == 201, "\(started.text)")
                let mountpoint = try #require(started.json["mountpoint"]?.intValue)
                let gateway = JanusClient(baseURL: janus.settings.janusUrl!, secrets: janus.secrets)
                func receiving() async throws -> Bool { (try await gateway.mountpointInfo(id: mountpoint)?.mediaAgeMs ?? .max) < 1_000 }
                try await waitUntil(timeout: .seconds(20), "media at Janus from the agent") { try await receiving() }
                func segments() async throws -> Int {
                    Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE device = '\(device)' AND state = 'complete'")) ?? 0
                }
                func liveCommand() async throws -> String { try await postgres.psql("SELECT start_command FROM live_sessions WHERE device = '\(device)'") }

                let takeover = try await Self.longestGap(gateway, mountpoint: mountpoint) {
                    #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(device)/recording", token: operatorKey,
                                                     json: ["mode": "continuous"]).status == 200)
                    try await waitUntil(timeout: .seconds(60), "the recorder took the live view's stream") { try await liveCommand() == "recording" }
                    try await waitUntil(timeout: .seconds(20), "media at Janus through the relay") { try await receiving() }
                }
                print("live view's media gap while the recorder took the stream over: \(takeover) ms")
                #expect(takeover < 15_000, "gap \(takeover) ms")
                try await waitUntil(timeout: .seconds(60), "segments recorded from the taken-over stream") { try await segments() >= 2 }
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = 'start_stream'") == "2")
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = 'stop_stream' AND status = 'succeeded'") == "1")
                #expect(try await postgres.psql("SELECT srtp_key IS NULL FROM live_sessions WHERE device = '\(device)'") == "t")
                #expect(try await postgres.psql("SELECT count(*) FROM media_relays WHERE device = '\(device)'") == "1")

                // The race, made deterministic: the stop of a live view stopped at the moment of the
                // takeover (addressed to its mountpoint) arrives after it. The agent refuses it, and
                // the recorder's stream, and so recording, carries on.
                let client = fleet.broker.identity.database.client, logger = Logger(label: "test.race")
                let records = CommandsStore(client: client, logger: logger)
                let janusPort = try #require(Int(try await postgres.psql("SELECT rtp_port FROM live_sessions WHERE device = '\(device)'")))
                let stale = try await records.send(device: device, name: "stop_stream",
                                                   args: LivePlan.stopArguments(host: "127.0.0.1", rtpPort: janusPort), ttl: 30,
                                                   origin: LiveView.systemOrigin, audit: AuditLog(client: client, logger: logger))
                var answered: CommandsStore.View?
                try await waitUntil(timeout: .seconds(20), "the stale stop answered") {
                    answered = try await records.get(stale.id)
                    return answered?.status == "failed" || answered?.status == "succeeded"
                }
                #expect(answered?.status == "failed" && answered?.errorCode == "stream_other_destination", "\(String(describing: answered))")
                let beforeStale = try await segments()
                try await waitUntil(timeout: .seconds(30), "segments after the refused stop") { try await segments() >= beforeStale + 2 }
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = 'start_stream'") == "2",
                        "the recorder never had to ask for the stream again")

                let mine = try await fleet.api.send(.GET, "/api/v1/devices/\(device)/live", token: viewer)
                #expect(mine.json["mountpoint"]?.intValue == mountpoint, "the same mountpoint: its viewers stay")
                #expect(try await gateway.mountpointInfo(id: mountpoint)?.srtp == true)
                #expect(!janus.process.log.contains("unprotect error"), "Janus decrypts the relayed stream with the live view's key")

                let handBack = try await Self.longestGap(gateway, mountpoint: mountpoint) {
                    #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(device)/recording", token: operatorKey,
                                                     json: ["mode": "off"]).status == 200)
                    try await RecordingEndToEndTests.waitStopped(fleet, recordings)
                    try await waitUntil(timeout: .seconds(30), "the live view's stream handed back") { try await liveCommand() != "recording" }
                    try await waitUntil(timeout: .seconds(20), "media at Janus from the agent again") { try await receiving() }
                }
                print("live view's media gap while the stream was handed back: \(handBack) ms")
                #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = 'start_stream'") == "3")
                #expect(try await postgres.psql("SELECT count(*) FROM media_relays WHERE device = '\(device)'") == "0")
                #expect(try await postgres.psql("SELECT srtp_key IS NOT NULL FROM live_sessions WHERE device = '\(device)'") == "t")
                #expect(try await fleet.api.send(.DELETE, "/api/v1/devices/\(device)/live", token: operatorKey).status == 204)
                try await waitUntil(timeout: .seconds(20), "the agent's stream stopped with the live view") {
                    try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = 'stop_stream' AND status = 'succeeded'") == "3"
                }
            }
        } catch {
            print("--- janus log (tail) ---\n\(janus.process.log.suffix(4_000))")
            await janus.stop()
            throw error
        }
        await janus.stop()
    }

    @Test("two aggregators on one database: a live view opened on the one that does not record is taken over by the recorder on the other, and a live view opened there later joins that recorder's relay; one start_stream for the recording",
          .timeLimit(.minutes(5)))
    func liveViewOnAnotherAggregator() async throws {
        let device = "cam-two-centres"
        let directory = try TemporaryDirectory(prefix: "outpost-two-centres")
        defer { directory.remove() }
        let clip = try await RecordingEndToEndTests.clip(in: directory.path)
        let recordings = directory.file("recordings")
        let janus = try await JanusFixture(directory: directory.path, settings: LiveSettings(
            mediaAddress: "127.0.0.1", rtpPortRange: "47000-47999", idleTimeoutSeconds: 60, checkIntervalSeconds: 1))
        do {
            try await FleetFixture.with(configure: {
                $0.live = janus.settings
                $0.recordings = RecordingSettings(enabled: true, directory: recordings, mediaAddress: "127.0.0.1", rtpPortRange: "44000-44999",
                                                  segmentSeconds: 3, ffmpegPath: try! locateTool("ffmpeg"), ffprobePath: try! locateTool("ffprobe"),
                                                  floorPercent: 0, floorBytes: 0, checkIntervalSeconds: 1)
            }) { fleet in
                let postgres = fleet.broker.identity.postgres
                _ = try await fleet.startAgent(device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)])
                _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(device)'")
                try await waitUntil(timeout: .seconds(60), "\(device) online") {
                    try await postgres.psql("SELECT status FROM devices WHERE id = '\(device)'") == "online"
                }
                let operatorKey = try await fleet.apiKey(.operator), viewer = try await fleet.apiKey(.viewer)
                let gateway = JanusClient(baseURL: janus.settings.janusUrl!, secrets: janus.secrets)
                func receiving(_ mountpoint: Int) async throws -> Bool {
                    (try await gateway.mountpointInfo(id: mountpoint)?.mediaAgeMs ?? .max) < 1_000
                }
                func count(_ name: String) async throws -> String {
                    try await postgres.psql("SELECT count(*) FROM commands WHERE device = '\(device)' AND name = '\(name)'")
                }
                try await fleet.withSecondAggregator(configure: { $0.recordings.enabled = false }) { other in
                    let first = try await other.send(.POST, "/api/v1/devices/\(device)/live", token: viewer, json: [:])
                    #expect(first.status == 201, "\(first.text)")
                    let watched = try #require(first.json["mountpoint"]?.intValue)
                    try await waitUntil(timeout: .seconds(20), "media at Janus from the agent") { try await receiving(watched) }
                    #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(device)/recording", token: operatorKey,
                                                     json: ["mode": "continuous"]).status == 200)
                    try await waitUntil(timeout: .seconds(60), "the recorder on a1 took over a2's live view") {
                        try await postgres.psql("SELECT start_command FROM live_sessions WHERE device = '\(device)'") == "recording"
                    }
                    try await waitUntil(timeout: .seconds(20), "media at Janus through a1's relay") { try await receiving(watched) }
                    #expect(try await other.send(.DELETE, "/api/v1/devices/\(device)/live", token: operatorKey).status == 204)
                    #expect(try await count("stop_stream") == "1", "only the takeover stopped a stream: the recorder's goes on")

                    let recordingStreams = try await count("start_stream")
                    let second = try await other.send(.POST, "/api/v1/devices/\(device)/live", token: viewer, json: [:])
                    #expect(second.status == 201, "\(second.text)")
                    let joined = try #require(second.json["mountpoint"]?.intValue)
                    try await waitUntil(timeout: .seconds(20), "a1's relay feeds a2's new mountpoint") { try await receiving(joined) }
                    #expect(try await count("start_stream") == recordingStreams, "the live view on a2 joined the recording: no second stream")
                    #expect(!janus.process.log.contains("unprotect error"), "Janus decrypts the relayed stream with the recorder's key")
                    let segments = try await postgres.psql("SELECT count(*) FROM recordings WHERE device = '\(device)' AND state = 'complete'")
                    try await waitUntil(timeout: .seconds(30), "recording goes on while a2 watches") {
                        Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE device = '\(device)' AND state = 'complete'"))! > Int(segments)!
                    }
                    #expect(try await other.send(.DELETE, "/api/v1/devices/\(device)/live", token: operatorKey).status == 204)
                }
                #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(device)/recording", token: operatorKey,
                                                 json: ["mode": "off"]).status == 200)
                try await RecordingEndToEndTests.waitStopped(fleet, recordings)
            }
        } catch {
            print("--- janus log (tail) ---\n\(janus.process.log.suffix(4_000))")
            await janus.stop()
            throw error
        }
        await janus.stop()
    }
}
