import Foundation
import Logging
@testable import OutpostAggregator
import TestHarness
import Testing

/// The retention service over a real PostgreSQL and real files: it deletes what
/// ``RetentionPlan`` chooses, counts by reason, and the orphan scan squares files with rows.
@Suite("Retention and the orphan scan (real PostgreSQL, real files)", .serialized)
struct RetentionServiceTests {
    static func service(_ env: APITestEnvironment, quota: Int64? = nil, maxAgeDays: Int = 30, orphans: String = "adopt", floorBytes: Int64 = 0,
                        directory: String? = nil) -> RetentionService {
        var settings = RecordingSettings(enabled: true, directory: directory ?? env.recordingsDirectory, maxAgeDays: maxAgeDays, quotaBytes: quota,
                                         floorPercent: 0, floorBytes: floorBytes, orphans: orphans)
        settings.ffmpegPath = (try? locateTool("ffmpeg")) ?? settings.ffmpegPath
        settings.ffprobePath = (try? locateTool("ffprobe")) ?? settings.ffprobePath
        return RetentionService(settings: settings, client: env.client, metrics: env.metrics, readiness: SchemaReadiness(),
                                logger: Logger(label: "test.retention"))
    }

    static func states(_ env: APITestEnvironment) async throws -> [String] {
        try await env.psql("SELECT state || ':' || coalesce(deleted_reason, '-') FROM recordings ORDER BY started_at").split(separator: "\n").map(String.init)
    }

    @Test("a quota smaller than the recorded bytes deletes exactly the oldest until under it (reason quota); an age limit deletes by age (reason age); files go with rows")
    func quotaAndAge() async throws {
        try await APITestEnvironment.with { env in
            for minutesAgo in [60, 50, 40, 30, 20] {
                _ = try await RecordingFixtures.insertSegment(device: "cam-q", env: env, startedAt: "now() - interval '\(minutesAgo) minutes'")
            }
            let size = Int64(await RecordingFixtures.sampleSegment.count)
            let plan = try #require(try await Self.service(env, quota: size * 3 + size / 2).enforce())
            #expect(plan.deletions.count == 2)
            #expect(try await Self.states(env) == ["deleted:quota", "deleted:quota", "complete:-", "complete:-", "complete:-"])
            let files = try FileManager.default.contentsOfDirectory(atPath: env.recordingsDirectory + "/cam-q").filter { $0.hasSuffix(".mp4") }
            #expect(files.count == 3)
            #expect(env.metrics.render().contains("outpost_recordings_deleted_total{reason=\"quota\"} 2"))
            #expect(env.metrics.render().contains("outpost_recordings_bytes \(size * 3)"))
            let storage = env.metrics.render()
            #expect(metricValue(storage, "outpost_recordings_deleted_bytes_total", ["reason": "quota"]) == Double(size * 2))
            #expect((metricValue(storage, "outpost_recordings_free_bytes") ?? 0) > 0)
            #expect(metricValue(storage, "outpost_recordings_floor_bytes") != nil)
            // The oldest kept segment started 40 minutes ago.
            let oldest = try #require(metricValue(storage, "outpost_recordings_oldest_segment_timestamp_seconds"))
            #expect(abs(Date().timeIntervalSince1970 - 40 * 60 - oldest) < 120, "oldest: \(oldest)")

            _ = try await RecordingFixtures.insertSegment(device: "cam-q", env: env, startedAt: "now() - interval '3 days'")
            try await Self.service(env, quota: nil, maxAgeDays: 2).enforce()
            #expect(try await Self.states(env).first == "deleted:age")
            #expect(env.metrics.render().contains("outpost_recordings_deleted_total{reason=\"age\"} 1"))
            try await env.psql("INSERT INTO recording_settings (device, mode, quota_bytes, updated_by) VALUES ('cam-q', 'off', \(size * 2), 'test')")
            try await Self.service(env).enforce()
            #expect(env.metrics.render().contains("outpost_recordings_deleted_total{reason=\"device_quota\"} 1"))
        }
    }

    @Test("a pass reads a batch of the oldest rows: an excess of three segments with a batch of two is worked off over two passes, oldest first")
    func batches() async throws {
        try await APITestEnvironment.with { env in
            for minutesAgo in [60, 50, 40, 30, 20] {
                _ = try await RecordingFixtures.insertSegment(device: "cam-b", env: env, startedAt: "now() - interval '\(minutesAgo) minutes'")
            }
            let size = Int64(await RecordingFixtures.sampleSegment.count)
            var service = Self.service(env, quota: size * 2)
            service.batch = 2
            #expect(try await service.enforce()?.deletions.count == 2)
            #expect(try await Self.states(env) == ["deleted:quota", "deleted:quota", "complete:-", "complete:-", "complete:-"])
            #expect(try await service.enforce()?.deletions.count == 1)
            #expect(try await Self.states(env) == ["deleted:quota", "deleted:quota", "deleted:quota", "complete:-", "complete:-"])
            #expect(try await service.enforce()?.deletions.count == 0)
        }
    }

    @Test("orphans: a stray playable file is adopted (or removed when so set), junk is removed, a row whose file went becomes missing")
    func orphans() async throws {
        try await APITestEnvironment.with { env in
            let kept = try await RecordingFixtures.insertSegment(device: "cam-o", env: env)
            let lost = try await RecordingFixtures.insertSegment(device: "cam-o", env: env)
            let lostPath = try await env.psql("SELECT path FROM recordings WHERE id = \(lost)")
            try FileManager.default.removeItem(atPath: env.recordingsDirectory + "/" + lostPath)
            let directory = env.recordingsDirectory + "/cam-o"
            let old = Date().addingTimeInterval(-3_600)
            for (name, data) in [("stray.mp4", await RecordingFixtures.sampleSegment), ("junk.mp4", Data("not a video".utf8)), ("other.txt", Data("x".utf8))] {
                #expect(FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: data, attributes: [.modificationDate: old]))
            }
            let library = Self.service(env).library
            let result = try await library.scanOrphans()
            #expect(result == RecordingLibrary.ScanResult(adopted: 1, removed: 2, missing: 1))
            #expect(try await env.psql("SELECT state FROM recordings WHERE id = \(lost)") == "missing")
            #expect(try await env.psql("SELECT state FROM recordings WHERE id = \(kept)") == "complete")
            #expect(try await env.psql("SELECT state || ' ' || codec || ' ' || width FROM recordings WHERE path = 'cam-o/stray.mp4'") == "complete h264 320")
            #expect(FileManager.default.fileExists(atPath: "\(directory)/stray.jpg"), "the adopted segment got its thumbnail")
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/junk.mp4"))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/other.txt"))

            // Set to remove: a new stray goes; a fresh file (an engine may be writing it) stays.
            #expect(FileManager.default.createFile(atPath: "\(directory)/stray2.mp4", contents: await RecordingFixtures.sampleSegment,
                                                   attributes: [.modificationDate: old]))
            #expect(FileManager.default.createFile(atPath: "\(directory)/writing.mp4", contents: await RecordingFixtures.sampleSegment))
            let removing = Self.service(env, orphans: "remove").library
            #expect(try await removing.scanOrphans() == RecordingLibrary.ScanResult(adopted: 0, removed: 1, missing: 0))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/stray2.mp4"))
            #expect(FileManager.default.fileExists(atPath: "\(directory)/writing.mp4"))
            let metrics = env.metrics.render()
            #expect(metrics.contains("outpost_recordings_deleted_total{reason=\"orphan\"} 2"), "other.txt and stray2.mp4")
            #expect(metrics.contains("outpost_recordings_deleted_total{reason=\"partial\"} 1"), "junk.mp4, which ffprobe cannot play")
        }
    }

    @Test("disk floor on a small tmpfs: filled up, the emergency purge brings free space back over the floor, the alert gauge shows it (root)",
          .enabled(if: getuid() == 0, "mounting a tmpfs needs root (CI runs as root)"))
    func diskFloor() async throws {
        try await APITestEnvironment.with { env in
            let mount = env.recordingsDirectory + "-tmpfs"
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            try await runTool(locateTool("mount"), ["-t", "tmpfs", "-o", "size=8m,mode=0750", "tmpfs", mount])
            defer { umount(mount) }
            let service = Self.service(env, floorBytes: 3 << 20, directory: mount)
            let segment = await RecordingFixtures.sampleSegment
            var inserted = 0
            try FileManager.default.createDirectory(atPath: mount + "/cam-f", withIntermediateDirectories: true)
            // Fill it with catalogued segments until less than the floor is free.
            while inserted < 200, let disk = RetentionService.disk(mount), disk.freeBytes >= 3 << 20 {
                let name = "seg-\(String(format: "%04d", inserted))"
                guard FileManager.default.createFile(atPath: "\(mount)/cam-f/\(name).mp4", contents: segment) else { break }
                try await env.psql("""
                    INSERT INTO devices (id, kind) VALUES ('cam-f', 'camera') ON CONFLICT (id) DO NOTHING;
                    INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, codec, state)
                    VALUES ('cam-f', now() - interval '1 hour' + \(inserted) * interval '2 seconds',
                            now() - interval '1 hour' + \(inserted) * interval '2 seconds' + interval '2 seconds', 2000, \(segment.count),
                            'cam-f/\(name).mp4', 'h264', 'complete')
                    """)
                inserted += 1
            }
            let before = try #require(RetentionService.disk(mount))
            #expect(before.freeBytes < 3 << 20, "filled: \(before)")
            let plan = try #require(try await service.enforce())
            #expect(plan.belowFloor)
            #expect(plan.deletions.allSatisfy { $0.reason == .floor })
            #expect(!plan.deletions.isEmpty)
            let after = try #require(RetentionService.disk(mount))
            #expect(after.freeBytes >= 3 << 20, "free after the purge: \(after.freeBytes)")
            #expect(try await env.psql("SELECT min(path) FROM recordings WHERE state = 'complete'") > "cam-f/seg-0000.mp4", "the oldest went first")
            let metrics = env.metrics.render()
            #expect(metrics.contains("outpost_recordings_below_floor 1"))
            #expect(metrics.contains("outpost_recordings_deleted_total{reason=\"floor\"} \(plan.deletions.count)"))
            // Over the floor again: the alert clears.
            try await service.enforce()
            #expect(env.metrics.render().contains("outpost_recordings_below_floor 0"))
        }
    }
}
