import Foundation
import Logging
@testable import OutpostAggregator
import TestHarness
import Testing

/// The engine records and their verdicts as values, without processes.
@Suite("Engine records (values)")
struct EngineRecordTests {
    static let record = EngineRecord(device: "cam-1", runPrefix: "1700000000000-", pid: 4242, startTime: 987_654, executable: "/usr/bin/ffmpeg",
                                     ownerPID: 4000, ownerStartTime: 900_000)

    @Test("a record reads back as written; a missing or malformed field is no record")
    func roundTrip() {
        #expect(EngineRecord.parse(Self.record.encoded) == Self.record)
        var spaced = Self.record
        spaced.executable = "/opt/my tools/ffmpeg"
        #expect(EngineRecord.parse(spaced.encoded) == spaced)
        #expect(EngineRecord.parse(Self.record.encoded.replacingOccurrences(of: "start=987654\n", with: "")) == nil)
        #expect(EngineRecord.parse(Self.record.encoded.replacingOccurrences(of: "pid=4242", with: "pid=1")) == nil, "never PID 1")
        #expect(EngineRecord.parse(Self.record.encoded.replacingOccurrences(of: "pid=4242", with: "pid=x")) == nil)
        #expect(EngineRecord.parse(Self.record.encoded.replacingOccurrences(of: "exe=/usr", with: "exe=usr")) == nil)
        #expect(EngineRecord.parse("garbage") == nil)
    }

    @Test("the start time is field 22 of /proc/PID/stat, whatever the command name holds")
    func startTimeField() throws {
        let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 123456789 20 21"
        #expect(EngineRecord.startTime(stat: "77 (ffmpeg) " + tail) == 123_456_789)
        #expect(EngineRecord.startTime(stat: "77 (a) b) (c d) " + tail) == 123_456_789)
        #expect(EngineRecord.startTime(stat: "77 (ffmpeg) S 1 2") == nil)
        #expect(EngineRecord.startTime(stat: "no parenthesis") == nil)
        let own = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        #expect((EngineRecord.startTime(stat: own) ?? 0) > 0)
    }

    @Test("ended only when PID, start time and executable still match and the aggregator that spawned it is gone")
    func verdicts() {
        let record = Self.record
        #expect(EngineRecord.verdict(record, engineStartTime: 987_654, engineExecutable: "/usr/bin/ffmpeg", ownerStartTime: nil) == .end)
        #expect(EngineRecord.verdict(record, engineStartTime: 987_654, engineExecutable: "/usr/bin/ffmpeg", ownerStartTime: 111) == .end,
                "the owner's PID is another process now")
        #expect(EngineRecord.verdict(record, engineStartTime: 987_654, engineExecutable: "/usr/bin/ffmpeg", ownerStartTime: 900_000) == .ownerAlive)
        #expect(EngineRecord.verdict(record, engineStartTime: 5, engineExecutable: "/usr/bin/ffmpeg", ownerStartTime: nil) == .gone,
                "a reused PID")
        #expect(EngineRecord.verdict(record, engineStartTime: 987_654, engineExecutable: "/usr/bin/sleep", ownerStartTime: nil) == .gone)
        #expect(EngineRecord.verdict(record, engineStartTime: nil, engineExecutable: nil, ownerStartTime: nil) == .gone)
    }
}

/// Ending engines a killed aggregator left, with real processes: only the recorded process,
/// only when its aggregator is gone; then its segments finished in real PostgreSQL.
@Suite("Orphaned media engines (real processes, real ffmpeg, real PostgreSQL)", .serialized)
struct OrphanedEngineTests {
    static let device = "cam-orphan"

    /// Rewrites the record at `path` with `change`.
    static func edit(_ path: String, _ change: (inout EngineRecord) -> Void) throws {
        var record = try #require(EngineRecord.parse(try String(contentsOfFile: path, encoding: .utf8)))
        change(&record)
        try record.encoded.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("a record whose PID is now another process ends nothing; one whose aggregator runs is kept; an orphan gets SIGTERM and its record goes",
          .timeLimit(.minutes(1)))
    func endsOnlyTheRecordedOrphan() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-engines")
        defer { directory.remove() }
        let sleep = try locateTool("sleep")
        let path = directory.file("cam-1.pid")
        let process = try EngineProcess(executable: sleep, arguments: ["60"], logPath: directory.file("sleep.log"),
                                        record: (path: path, device: "cam-1", runPrefix: "1-"))
        defer { kill(process.pid, SIGKILL); _ = process.isRunning }
        let written = try #require(EngineRecord.parse(try String(contentsOfFile: path, encoding: .utf8)))
        #expect(written.pid == process.pid && written.ownerPID == getpid() && written.executable == ProcFS.resolved(sleep))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // It holds none of this process's descriptors (which would outlive a killed aggregator).
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.pid)/fd").compactMap(Int.init).sorted()
        #expect(descriptors == [0, 1, 2], "\(descriptors)")

        // This process spawned it and runs: not an orphan.
        #expect(await OrphanedEngines(directory: directory.path).end().isEmpty)
        #expect(process.isRunning && FileManager.default.fileExists(atPath: path))

        // The same PID with another start time: a reused PID, never signalled; the record goes.
        try Self.edit(path) { $0.startTime += 1; $0.ownerStartTime = 1 }
        #expect(await OrphanedEngines(directory: directory.path).end().isEmpty)
        #expect(process.isRunning, "a reused PID is not signalled")
        #expect(!FileManager.default.fileExists(atPath: path))

        // Its aggregator gone: ended with SIGTERM, by PID.
        try written.encoded.write(toFile: path, atomically: true, encoding: .utf8)
        try Self.edit(path) { $0.ownerStartTime = 1 }
        let ended = await OrphanedEngines(directory: directory.path).end(timeout: .seconds(10))
        #expect(ended.map(\.pid) == [process.pid])
        try await waitUntil(timeout: .seconds(5), "sleep reaped") { !process.isRunning }
        let status = process.exitStatus
        #expect(status & 0x7f == SIGTERM, "terminated by SIGTERM, wait status \(status)")
        #expect(!FileManager.default.fileExists(atPath: path))

        // A malformed record is removed, ending nothing.
        try "pid=1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await OrphanedEngines(directory: directory.path).end().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("an ffmpeg segmenter whose aggregator is gone: ended at the recorder service's start, counted, every segment of its run complete (the last one closed by SIGTERM) with a thumbnail",
          .timeLimit(.minutes(3)))
    func recorderServiceEndsAndFinishes() async throws {
        try await APITestEnvironment.with { env in
            var settings = RecordingSettings(enabled: true, directory: env.recordingsDirectory, segmentSeconds: 2)
            settings.ffmpegPath = try locateTool("ffmpeg")
            settings.ffprobePath = try locateTool("ffprobe")
            let deviceDirectory = (env.recordingsDirectory as NSString).appendingPathComponent(Self.device)
            let engines = (env.recordingsDirectory as NSString).appendingPathComponent(".engine")
            try FileManager.default.createDirectory(atPath: deviceDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: engines, withIntermediateDirectories: true)
            try await env.psql("INSERT INTO devices (id, kind) VALUES ('\(Self.device)', 'camera')")
            let record = (engines as NSString).appendingPathComponent("\(Self.device).pid")
            let engine = try EngineProcess(
                executable: settings.ffmpegPath,
                arguments: ["-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30", "-f", "segment", "-segment_time", "2",
                            "-segment_format", "mp4", "-segment_format_options", "movflags=+faststart", "-reset_timestamps", "1",
                            (deviceDirectory as NSString).appendingPathComponent("1700000000000-%06d.mp4")],
                logPath: (engines as NSString).appendingPathComponent("test.log"),
                record: (path: record, device: Self.device, runPrefix: "1700000000000-"))
            defer { kill(engine.pid, SIGKILL); _ = engine.isRunning }
            // The killed aggregator had opened the first segment's row.
            try await env.psql("""
                INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, state)
                VALUES ('\(Self.device)', now(), now(), 0, 0, '\(Self.device)/1700000000000-000000.mp4', 'recording')
                """)
            let third = (deviceDirectory as NSString).appendingPathComponent("1700000000000-000002.mp4")
            try await waitUntil(timeout: .seconds(30), "ffmpeg writing its third segment") {
                ((try? FileManager.default.attributesOfItem(atPath: third)[.size] as? NSNumber)?.intValue ?? 0) > 0
            }
            try Self.edit(record) { $0.ownerStartTime = 1 }

            let service = RecorderService(settings: settings, owner: "a1", client: env.client, ingress: RecordingIngress(), metrics: env.metrics,
                                          readiness: SchemaReadiness(), logger: Logger(label: "test.orphans"))
            #expect(await service.endOrphanedEngines() == [Self.device])
            try await waitUntil(timeout: .seconds(5), "ffmpeg reaped") { !engine.isRunning }
            #expect(engine.exitStatus & 0x7f == 0, "ffmpeg exited by itself after SIGTERM (status \(engine.exitStatus))")
            #expect(!FileManager.default.fileExists(atPath: record))

            let rows = try await env.psql("SELECT path || ' ' || state || ' ' || duration_ms || ' ' || coalesce(thumbnail_path, '-') FROM recordings ORDER BY path")
                .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            let files = try FileManager.default.contentsOfDirectory(atPath: deviceDirectory).filter { $0.hasSuffix(".mp4") }.sorted()
            #expect(files.count >= 3, "\(files)")
            #expect(rows.map { $0[0] } == files.map { "\(Self.device)/\($0)" }, "a row for every file")
            for row in rows {
                #expect(row[1] == "complete", "\(row)")
                #expect((Int(row[2]) ?? 0) > 0, "\(row)")
                #expect(FileManager.default.fileExists(atPath: (env.recordingsDirectory as NSString).appendingPathComponent(row[3])), "\(row)")
            }
            let metrics = env.metrics.render()
            #expect(metricValue(metrics, "outpost_recorder_orphans_ended_total", [:]) == 1)
            #expect(metricValue(metrics, "outpost_recordings_segments_total", ["outcome": "recovered"]) == Double(files.count))

            // A second start finds nothing left.
            #expect(await service.endOrphanedEngines().isEmpty)
            #expect(metricValue(env.metrics.render(), "outpost_recorder_orphans_ended_total", [:]) == 1)
        }
    }
}

/// The whole path: `outpost-aggregator serve` as a process records a real agent's stream,
/// is killed with SIGKILL (its ffmpeg keeps running), and is started again.
@Suite("A killed aggregator's engine (real aggregator process, real agent)", .serialized)
struct KilledAggregatorEngineTests {
    static let device = "cam-killed"

    /// The process runs (exists and is not a zombie waiting for its reaper).
    static func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    @Test("kill -9 of the recording aggregator: the next start ends its ffmpeg by PID, counted, the old run's rows are all finished, and recording resumes with new segments",
          .timeLimit(.minutes(6)))
    func nextStartEndsTheOrphan() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-killed")
        defer { directory.remove() }
        let clip = try await RecordingEndToEndTests.clip(in: directory.path)
        let recordings = directory.file("recordings")
        try await FleetFixture.with { fleet in
            let postgres = fleet.broker.identity.postgres
            _ = try await fleet.startAgent(Self.device, streams: ["camera": .file(path: clip, framesPerSecond: 30, loop: true)])
            _ = try await postgres.psql("UPDATE devices SET kind = 'camera' WHERE id = '\(Self.device)'")
            try await waitUntil(timeout: .seconds(60), "\(Self.device) online") {
                try await postgres.psql("SELECT status FROM devices WHERE id = '\(Self.device)'") == "online"
            }
            // The in-process aggregator does not record; `a2`, a process, does.
            var configuration = fleet.configuration
            configuration.instanceID = "a2"
            configuration.http.port = try FreePort.next()
            configuration.recordings = RecordingSettings(enabled: true, directory: recordings, mediaAddress: "127.0.0.1", rtpPortRange: "44000-44999",
                                                         segmentSeconds: 2, ffmpegPath: try locateTool("ffmpeg"), ffprobePath: try locateTool("ffprobe"),
                                                         floorPercent: 0, floorBytes: 0, checkIntervalSeconds: 1)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let configPath = directory.file("aggregator-a2.json")
            try encoder.encode(configuration).write(to: URL(fileURLWithPath: configPath))
            func start(_ run: Int) throws -> ServerProcess {
                try ServerProcess(name: "outpost-aggregator a2", executable: try AggregatorFixture.binary, arguments: ["serve", "--config", configPath],
                                  logPath: directory.file("aggregator-a2-\(run).log"))
            }
            _ = try await postgres.psql("INSERT INTO recording_settings (device, mode, updated_by) VALUES ('\(Self.device)', 'continuous', 'test')")
            var aggregator = try start(1)
            do {
                func complete() async throws -> [String] {
                    try await postgres.psql("SELECT path FROM recordings WHERE state = 'complete' ORDER BY path").split(separator: "\n").map(String.init)
                }
                try await waitUntil(timeout: .seconds(90), "two segments recorded by a2") { try await complete().count >= 2 }
                let engines = RecordingEndToEndTests.enginePIDs(directory: recordings)
                #expect(engines.count == 1)
                let orphan = try #require(engines.first)
                let oldRun = try #require(try await complete().first.map { String($0.split(separator: "/")[1].prefix { $0 != "-" }) })

                await aggregator.crash()
                try await Task.sleep(for: .seconds(1))
                #expect(Self.alive(orphan), "ffmpeg outlives the aggregator killed with SIGKILL")

                aggregator = try start(2)
                try await waitUntil(timeout: .seconds(60), "the orphaned ffmpeg \(orphan) ended") {
                    !Self.alive(orphan)
                }
                try await waitUntil(timeout: .seconds(90), "a new run's segments") {
                    try await complete().filter { !$0.hasPrefix("\(Self.device)/\(oldRun)-") }.count >= 2
                }
                #expect(aggregator.log.contains("orphaned media engine ended"), "\(aggregator.log.suffix(3_000))")
                // Every row of the old run is finished: complete with its file, or removed as partial.
                let old = try await postgres.psql("SELECT path || ' ' || state FROM recordings WHERE path LIKE '\(Self.device)/\(oldRun)-%' ORDER BY path")
                    .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                #expect(old.count >= 2)
                for row in old {
                    #expect(row[1] == "complete" || row[1] == "deleted", "\(row)")
                    if row[1] == "complete" { #expect(FileManager.default.fileExists(atPath: (recordings as NSString).appendingPathComponent(row[0])), "\(row)") }
                }
                let engineNow = RecordingEndToEndTests.enginePIDs(directory: recordings)
                #expect(engineNow.count == 1 && !engineNow.contains(orphan), "\(engineNow)")
                print("orphaned ffmpeg \(orphan) ended; old run rows \(old.map { $0[1] }); new engine \(engineNow)")
                #expect(await aggregator.stop(signal: SIGTERM, timeout: .seconds(30)) == 0, "\(aggregator.log.suffix(3_000))")
                try await waitUntil(timeout: .seconds(30), "engines stopped") { RecordingEndToEndTests.enginePIDs(directory: recordings).isEmpty }
            } catch {
                print("--- a2 log (tail) ---\n\(aggregator.log.suffix(4_000))")
                await aggregator.crash()
                for pid in RecordingEndToEndTests.enginePIDs(directory: recordings) { kill(pid, SIGKILL) }
                throw error
            }
        }
    }
}
