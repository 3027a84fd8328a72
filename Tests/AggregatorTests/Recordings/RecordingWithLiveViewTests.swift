import Foundation
import OutpostAgent
@testable import OutpostAggregator
import OutpostCommon
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
        let clip = try RecordingEndToEndTests.clip(in: directory.path)
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
                _ = try postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(Self.device)'")
                try await waitUntil(timeout: .seconds(60), "\(Self.device) online") {
                    try postgres.psql("SELECT status FROM devices WHERE id = '\(Self.device)'") == "online"
                }
                let operatorKey = try await fleet.apiKey(.operator), viewer = try await fleet.apiKey(.viewer)
                #expect(try await fleet.api.send(.PUT, "/api/v1/devices/\(Self.device)/recording", token: operatorKey,
                                                 json: ["mode": "continuous"]).status == 200)
                func segments() throws -> Int { Int(try postgres.psql("SELECT count(*) FROM recordings WHERE state = 'complete'")) ?? 0 }
                try await waitUntil(timeout: .seconds(60), "the first segment") { try segments() >= 1 }

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
                #expect(try postgres.psql("SELECT count(*) FROM commands WHERE name = 'start_stream'") == "1", "one stream from the camera")
                let during = try segments()
                try await waitUntil(timeout: .seconds(30), "recording goes on while watched") { try segments() >= during + 2 }

                #expect(try await fleet.api.send(.DELETE, "/api/v1/devices/\(Self.device)/live", token: operatorKey).status == 204)
                #expect(try await gateway.mountpointInfo(id: mountpoint) == nil)
                #expect(try postgres.psql("SELECT count(*) FROM commands WHERE name = 'stop_stream'") == "0", "the recorder's stream stays")
                let after = try segments()
                try await waitUntil(timeout: .seconds(30), "recording goes on after live view") { try segments() >= after + 1 }
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
}
