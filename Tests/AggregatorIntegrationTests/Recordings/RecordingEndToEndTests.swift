import Foundation
import OutpostAgent
@testable import OutpostAggregator
import OutpostSupport
import TestHarness
import Testing

/// Recording end to end: the aggregator as `serve` wires it with recordings on, and a real
/// `outpost-agent run` streaming an ffmpeg-made H.264 clip as SRTP into the recorder.
@Suite("Recording a real agent's stream", .serialized)
struct RecordingEndToEndTests {
    static let device = "cam-rec"
    static let segmentSeconds = 5

    /// A 10 s 640x360 H.264 baseline clip of testsrc2, 30 fps, a keyframe every second.
    static func clip(in directory: String) async throws -> String {
        let path = (directory as NSString).appendingPathComponent("testsrc2.h264")
        try await runTool(locateTool("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                                          "-t", "10", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "30",
                                          "-bf", "0", "-f", "h264", path])
        return path
    }

    /// ffprobe's view of one file: duration (s), codec, width, height.
    static func probe(_ path: String) async throws -> (duration: Double, codec: String, width: Int, height: Int) {
        let text = try await runTool(locateTool("ffprobe"), ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                       "stream=codec_name,width,height:format=duration", "-of", "json", path])
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        guard case .array(let streams)? = json["streams"], let stream = streams.first,
              let duration = json["format"]?["duration"]?.stringValue.flatMap(Double.init)
        else { throw HarnessError("ffprobe: \(text)") }
        return (duration, stream["codec_name"]?.stringValue ?? "", stream["width"]?.intValue ?? 0, stream["height"]?.intValue ?? 0)
    }

    /// PIDs of the ffmpeg processes whose command line names `directory` (the recorder's engines here).
    static func enginePIDs(directory: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first?.hasSuffix("ffmpeg") == true, arguments.contains(where: { $0.contains(directory) }) else { return nil }
            return pid
        }
    }

    /// Until the engine has exited and the recorder has catalogued its last segment.
    static func waitStopped(_ fleet: FleetFixture, _ recordings: String) async throws {
        try await waitUntil(timeout: .seconds(30), "the recorder stopped") {
            enginePIDs(directory: recordings).isEmpty && metric(fleet.aggregator.metrics.render(), "outpost_recorders_running") == 0
        }
    }

    static func metric(_ text: String, _ line: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("continuous, 5 s segments for about 30 s: 6 ± 1 segments that ffprobe plays at 5 s ± 10 % as 640x360 H.264, 320 px JPEG thumbnails, rows and files agree; kill -9 of the engine mid-segment: restarted and counted, the half-written segment never listed, recording goes on",
          .timeLimit(.minutes(6)))
    func recordsAndSurvivesEngineCrash() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rec")
        defer { directory.remove() }
        let clip = try await Self.clip(in: directory.path)
        let recordings = directory.file("recordings")
        try await FleetFixture.with(configure: {
            $0.recordings = RecordingSettings(enabled: true, directory: recordings, mediaAddress: "127.0.0.1", rtpPortRange: "43000-43999",
                                              segmentSeconds: Self.segmentSeconds, ffmpegPath: try! locateTool("ffmpeg"),
                                              ffprobePath: try! locateTool("ffprobe"), floorPercent: 0, floorBytes: 0, checkIntervalSeconds: 1)
        }) { fleet in
            let postgres = fleet.broker.identity.postgres
            _ = try await fleet.startAgent(Self.device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)])
            _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(Self.device)'")
            try await waitUntil(timeout: .seconds(60), "\(Self.device) online") {
                try await postgres.psql("SELECT status FROM devices WHERE id = '\(Self.device)'") == "online"
            }
            let operatorKey = try await fleet.apiKey(.operator)
            let path = "/api/v1/devices/\(Self.device)/recording"

            // About 30 s of continuous recording, then off (the engine closes its last segment).
            let on = try await fleet.api.send(.PUT, path, token: operatorKey, json: ["mode": "continuous"])
            #expect(on.status == 200, "\(on.text)")
            // The 30 s count from the agent's stream start, not the request, so a slow start on a
            // loaded machine cannot cost a segment.
            try await waitUntil(timeout: .seconds(60), "the agent's stream started") {
                try await postgres.psql("SELECT count(*) > 0 FROM commands WHERE name = 'start_stream' AND status = 'succeeded'") == "t"
            }
            try await Task.sleep(for: .seconds(Self.segmentSeconds * 6))
            // The segment being written has its row already, as `recording`.
            try await waitUntil(timeout: .seconds(Self.segmentSeconds * 2), "one open segment's row says recording") {
                try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'recording'") == "1"
            }
            #expect(try await fleet.api.send(.PUT, path, token: operatorKey, json: ["mode": "off"]).status == 200)
            try await Self.waitStopped(fleet, recordings)
            try await waitUntil(timeout: .seconds(30), "the agent's stream stopped") {
                try await postgres.psql("SELECT count(*) FROM commands WHERE name = 'stop_stream' AND status = 'succeeded'") == "1"
            }
            let rows = try await postgres.psql("SELECT path || ' ' || coalesce(thumbnail_path, '-') || ' ' || duration_ms || ' ' || bytes || ' ' || codec || ' ' || width FROM recordings WHERE state = 'complete' ORDER BY started_at")
                .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            print("recorded segments: \(rows.map { "\($0[2]) ms \($0[3]) B" })")
            #expect((5...7).contains(rows.count), "segments: \(rows.count)")
            for (index, row) in rows.enumerated() {
                let file = (recordings as NSString).appendingPathComponent(row[0])
                let probe = try await Self.probe(file)
                #expect(probe.codec == "h264" && probe.width == 640 && probe.height == 360, "\(row[0]): \(probe)")
                if index < rows.count - 1 {
                    #expect(abs(probe.duration - Double(Self.segmentSeconds)) <= Double(Self.segmentSeconds) * 0.1, "\(row[0]): \(probe.duration) s")
                } else {
                    #expect(probe.duration <= Double(Self.segmentSeconds) * 1.1, "the last segment, cut by the stop: \(probe.duration) s")
                }
                #expect(Int64(row[3]) == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value)
                #expect(row[4] == "h264" && row[5] == "640")
                let thumbnail = (recordings as NSString).appendingPathComponent(row[1])
                let jpeg = try #require(FileManager.default.contents(atPath: thumbnail), "thumbnail of \(row[0])")
                #expect(jpeg.prefix(3) == Data([0xFF, 0xD8, 0xFF]) && jpeg.suffix(2) == Data([0xFF, 0xD9]), "a JPEG: \(row[1])")
                let image = try await Self.probe(thumbnail)
                #expect(image.codec == "mjpeg" && image.width == 320 && image.height == 180, "\(row[1]): \(image)")
            }
            let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: (recordings as NSString).appendingPathComponent(Self.device))
                .map { "\(Self.device)/\($0)" })
            #expect(onDisk == Set(rows.flatMap { [$0[0], $0[1]] }), "files and rows agree")
            // The key stays out of the catalogue's commands and the audit log.
            #expect(try await postgres.psql("SELECT count(*) FROM commands WHERE name = 'start_stream' AND args->>'srtpKey' <> '[redacted]'") == "0")

            // Again, and kill -9 the engine in the middle of a segment.
            let before = rows.count
            #expect(try await fleet.api.send(.PUT, path, token: operatorKey, json: ["mode": "continuous"]).status == 200)
            try await waitUntil(timeout: .seconds(60), "two more segments") {
                Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'complete'")) ?? 0 >= before + 2
            }
            try await Task.sleep(for: .milliseconds(Self.segmentSeconds * 500))
            var killed = ""
            try await waitUntil(timeout: .seconds(Self.segmentSeconds * 2), "the open segment's recording row") {
                killed = try await postgres.psql("SELECT path FROM recordings WHERE state = 'recording'")
                return !killed.isEmpty && !killed.contains("\n")
            }
            let engines = Self.enginePIDs(directory: recordings)
            #expect(engines.count == 1)
            for pid in engines { kill(pid, SIGKILL) }
            try await waitUntil(timeout: .seconds(30), "the engine restarted") {
                let now = Self.enginePIDs(directory: recordings)
                return !now.isEmpty && Set(now).isDisjoint(with: engines)
            }
            let afterCrash = Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'complete'")) ?? 0
            try await waitUntil(timeout: .seconds(60), "recording goes on after the restart") {
                Int(try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'complete'")) ?? 0 >= afterCrash + 2
            }
            #expect(try await fleet.api.send(.PUT, path, token: operatorKey, json: ["mode": "off"]).status == 200)
            try await Self.waitStopped(fleet, recordings)
            let metrics = await fleet.aggregator.metrics.scrape()
            #expect(Self.metric(metrics, "outpost_recorder_restarts_total") == 1, "\(metrics.suffix(3_000))")
            // With recording on, the recordings file system is watched beside the state directory.
            #expect((metricValue(metrics, "outpost_disk_free_bytes", ["directory": "recordings"]) ?? 0) > 0)
            let partial = Self.metric(metrics, "outpost_recordings_deleted_total{reason=\"partial\"}") ?? 0
            let adopted = Self.metric(metrics, "outpost_recordings_segments_total{outcome=\"adopted\"}") ?? 0
            #expect(partial + adopted == 1, "the killed segment was removed (\(partial)) or, playable, adopted (\(adopted))")
            let killedRow = try await postgres.psql("SELECT state || ' ' || coalesce(deleted_reason, '-') FROM recordings WHERE path = '\(killed)'")
            #expect(killedRow == (partial == 1 ? "deleted partial" : "complete -"), "the killed segment's row: \(killedRow)")
            #expect(try await postgres.psql("SELECT count(*) FROM recordings WHERE state = 'recording'") == "0", "no row left recording")
            let all = try await postgres.psql("SELECT path FROM recordings WHERE state = 'complete'").split(separator: "\n").map(String.init)
            for segment in all {
                let probe = try await Self.probe((recordings as NSString).appendingPathComponent(segment))
                #expect(probe.duration > 0 && probe.codec == "h264", "\(segment) plays")
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: (recordings as NSString).appendingPathComponent(Self.device))
                .filter { $0.hasSuffix(".mp4") }.map { "\(Self.device)/\($0)" }
            #expect(Set(files) == Set(all), "no file without a complete row after the crash")
        }
    }
}
