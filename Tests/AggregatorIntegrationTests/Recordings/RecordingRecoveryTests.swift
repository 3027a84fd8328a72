import Foundation
import Logging
@testable import OutpostAggregator
import TestHarness
import Testing

/// Rows left `recording` by a crash: what an aggregator killed while its engine wrote a
/// segment leaves behind (a real ffmpeg segmenter killed with SIGKILL mid-segment), then
/// finished by the next aggregator: playable files complete with thumbnails, the half-written
/// one `deleted` as `partial`, a row without its file `missing`; rows another aggregator still
/// records are left alone.
@Suite("Rows left recording by a crash (real ffmpeg, real PostgreSQL)", .serialized)
struct RecordingRecoveryTests {
    static let device = "cam-crashed"

    /// Segments ffmpeg wrote from testsrc2 in real time (2 s each, moov first) until SIGKILL
    /// in the middle of the third: two closed files and a half-written one, by name.
    static func killedEngineOutput(in directory: String) async throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = try ServerProcess(
            name: "ffmpeg segmenter", executable: try locateTool("ffmpeg"),
            arguments: ["-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30", "-f", "segment", "-segment_time", "2",
                        "-segment_format", "mp4", "-segment_format_options", "movflags=+faststart", "-reset_timestamps", "1",
                        (directory as NSString).appendingPathComponent("1700000000000-%06d.mp4")],
            logPath: (directory as NSString).appendingPathComponent("../ffmpeg.log"))
        let third = (directory as NSString).appendingPathComponent("1700000000000-000002.mp4")
        try await waitUntil(timeout: .seconds(30), "ffmpeg writing its third segment") {
            ((try? FileManager.default.attributesOfItem(atPath: third)[.size] as? NSNumber)?.intValue ?? 0) > 0
        }
        try await Task.sleep(for: .milliseconds(700))
        await process.crash()
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mp4") }.sorted()
    }

    @Test("after kill -9 mid-segment: rows left recording become complete (playable, with a thumbnail), deleted as partial (half-written, file removed) or missing (no file); a camera another aggregator records is left alone until its claim goes stale",
          .timeLimit(.minutes(3)))
    func finishesAbandonedRows() async throws {
        try await APITestEnvironment.with { env in
            let directory = (env.recordingsDirectory as NSString).appendingPathComponent(Self.device)
            let names = try await Self.killedEngineOutput(in: directory)
            #expect(names.count == 3, "\(names)")
            var settings = RecordingSettings(enabled: true, directory: env.recordingsDirectory, segmentSeconds: 2)
            settings.ffmpegPath = try locateTool("ffmpeg")
            settings.ffprobePath = try locateTool("ffprobe")
            let library = RecordingLibrary(settings: settings, store: RecordingsStore(client: env.client, logger: Logger(label: "test")),
                                           metrics: env.metrics, logger: Logger(label: "test.recovery"))
            try await env.psql("INSERT INTO devices (id, kind) VALUES ('\(Self.device)', 'camera')")
            for name in names + ["1700000000000-000009.mp4"] {
                try await env.psql("""
                    INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, state)
                    VALUES ('\(Self.device)', now() - interval '10 minutes', now() - interval '10 minutes', 0, 0, '\(Self.device)/\(name)', 'recording')
                    """)
            }
            func states() async throws -> [String] {
                try await env.psql("SELECT state || ':' || coalesce(deleted_reason, '-') FROM recordings ORDER BY path").split(separator: "\n").map(String.init)
            }

            // The files were written just now: an engine may still be writing them.
            #expect(try await library.finishAbandoned(owner: "a1", except: [], staleAfter: 15) == 1, "only the row without a file")
            #expect(try await states() == ["recording:-", "recording:-", "recording:-", "missing:-"])

            let old = Date().addingTimeInterval(-600)
            for name in names {
                try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: (directory as NSString).appendingPathComponent(name))
            }
            // Another aggregator records the camera (fresh claim), or this one does (`except`): left alone.
            try await env.psql("INSERT INTO recording_claims (device, owner) VALUES ('\(Self.device)', 'a2')")
            #expect(try await library.finishAbandoned(owner: "a1", except: [], staleAfter: 15) == 0)
            try await env.psql("UPDATE recording_claims SET heartbeat_at = now() - interval '1 minute'")
            #expect(try await library.finishAbandoned(owner: "a1", except: [Self.device], staleAfter: 15) == 0)

            #expect(try await library.finishAbandoned(owner: "a1", except: [], staleAfter: 15) == 3)
            #expect(try await states() == ["complete:-", "complete:-", "deleted:partial", "missing:-"])
            let complete = try await env.psql("SELECT path || ' ' || thumbnail_path || ' ' || duration_ms || ' ' || bytes FROM recordings WHERE state = 'complete' ORDER BY path")
                .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            for row in complete {
                let file = (env.recordingsDirectory as NSString).appendingPathComponent(row[0])
                #expect(abs((Int(row[2]) ?? 0) - 2_000) <= 200, "\(row[0]) lasts \(row[2]) ms")
                #expect(Int64(row[3]) == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value)
                let jpeg = try #require(FileManager.default.contents(atPath: (env.recordingsDirectory as NSString).appendingPathComponent(row[1])))
                #expect(jpeg.prefix(3) == Data([0xFF, 0xD8, 0xFF]))
            }
            #expect(!FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(names[2])), "the half-written file is removed")
            let metrics = env.metrics.render()
            #expect(metricValue(metrics, "outpost_recordings_segments_total", ["outcome": "recovered"]) == 2)
            #expect(metricValue(metrics, "outpost_recordings_deleted_total", ["reason": "partial"]) == 1)
        }
    }
}
