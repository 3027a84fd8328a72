import Foundation
import Logging
import OutpostSupport
import OutpostWire
import PostgresNIO
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// The ingest stall `/health` reports, without a database.
@Suite("Ingest stall policy")
struct IngestStallPolicyTests {
    @Test("the clock runs only while readings wait, from the last commit or from when they began to wait")
    func stallClock() {
        let t0 = ContinuousClock.now
        var stall = IngestStall()
        #expect(stall.waited(at: t0 + .seconds(100)) == .zero)
        #expect(!stall.isStalled(at: t0 + .seconds(100), limit: .seconds(3)))

        // Readings arrive long after any commit: the clock starts at their arrival.
        stall.admitted(10, at: t0)
        stall.admitted(5, at: t0 + .seconds(1))
        #expect(stall.pendingRows == 15)
        #expect(stall.waited(at: t0 + .seconds(2)) == .seconds(2))
        #expect(!stall.isStalled(at: t0 + .milliseconds(2_999), limit: .seconds(3)))
        #expect(stall.isStalled(at: t0 + .seconds(3), limit: .seconds(3)))

        // A commit restarts it; readings still wait, so it runs on.
        stall.committed(10, at: t0 + .seconds(4))
        #expect(stall.pendingRows == 5)
        #expect(stall.waited(at: t0 + .seconds(5)) == .seconds(1))
        #expect(!stall.isStalled(at: t0 + .seconds(5), limit: .seconds(3)))
        #expect(stall.isStalled(at: t0 + .seconds(8), limit: .seconds(3)))

        // Nothing waits: no stall however long since the last commit.
        stall.committed(5, at: t0 + .seconds(9))
        #expect(stall.pendingRows == 0)
        #expect(stall.waited(at: t0 + .seconds(60)) == .zero)
        #expect(!stall.isStalled(at: t0 + .seconds(60), limit: .seconds(3)))

        // Readings abandoned at shutdown leave the count; it never goes below zero.
        stall.admitted(7, at: t0 + .seconds(70))
        stall.dropped(9)
        #expect(stall.pendingRows == 0)
        #expect(!stall.isStalled(at: t0 + .seconds(90), limit: .seconds(3)))
    }

    @Test("/health is degraded with ingest_stalled while ingest is stalled")
    func health() {
        var report = HealthReport(databaseUp: true, brokerUp: true, failingWrites: [])
        report.ingestStalled = true
        #expect(report.level == .degraded && report.httpStatus == 200)
        #expect(report.findings.map(\.problem) == ["ingest_stalled"])
        #expect(report.json.contains(#""problems":["ingest_stalled"]"#))
    }

    @Test("ingest sessions: their own pool, lock_timeout and client_connection_check_interval as startup parameters")
    func ingestSessions() throws {
        let options = try PostgresSettings().ingestClientConfiguration(lockTimeoutMs: 1_500, connections: 3).options
        #expect(options.maximumConnections == 3 && options.minimumConnections == 0)
        #expect(options.additionalStartupParameters.map { "\($0.0)=\($0.1)" }
            == ["application_name=outpost-ingest", "lock_timeout=1500ms", "client_connection_check_interval=1000ms"])
        #expect(try PostgresSettings().clientConfiguration().options.additionalStartupParameters.isEmpty,
                "other sessions keep the server's defaults (a migration may wait for a lock)")
    }

    @Test("55P03 (lock_timeout) is transient: the batch is retried, never split or dead-lettered")
    func lockNotAvailableIsTransient() {
        #expect(WriteFailure.classify(sqlstate: "55P03") == .transient)
        #expect(WriteFailure.classify(sqlstate: "57014") == .transient)
        #expect(WriteFailure.classify(sqlstate: "23505") == .data(sqlstate: "23505"))
    }

    @Test("the pool keeps no minimum of connections (postgres-nio 1.33.2 stops the process with one during a failover)")
    func noMinimumConnections() throws {
        #expect(try PostgresSettings().clientConfiguration().options.minimumConnections == 0)
    }

    @Test("ingest.write_deadline_ms, ingest.lock_timeout_ms and ingest.stall_seconds: defaults and bounds")
    func settings() throws {
        let defaults = try JSONDecoder().decode(IngestSettings.self, from: Data("{}".utf8))
        #expect(defaults.writeDeadlineMs == 30_000 && defaults.lockTimeoutMs == 5_000 && defaults.stallSeconds == 30)
        #expect(try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"writeDeadlineMs": 2000}"#.utf8)).lockTimeoutMs == 1_000)
        #expect(IngestSettings(writeDeadlineMs: 600).lockTimeoutMs == 300)
        #expect(try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"lockTimeoutMs": 250}"#.utf8)).lockTimeoutMs == 250)
        #expect(throws: ConfigError(.invalidValue, key: "lock_timeout_ms", "")) {
            try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"writeDeadlineMs": 2000, "lockTimeoutMs": 2000}"#.utf8))
        }
        #expect(throws: ConfigError(.invalidValue, key: "lock_timeout_ms", "")) {
            try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"lockTimeoutMs": 5}"#.utf8))
        }
        let set = try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"writeDeadlineMs": 2000, "stallSeconds": 5}"#.utf8))
        #expect(set.writeDeadlineMs == 2_000 && set.stallSeconds == 5)
        #expect(throws: ConfigError(.invalidValue, key: "write_deadline_ms", "")) {
            try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"writeDeadlineMs": 5}"#.utf8))
        }
        #expect(throws: ConfigError(.invalidValue, key: "stall_seconds", "")) {
            try JSONDecoder().decode(IngestSettings.self, from: Data(#"{"stallSeconds": 0}"#.utf8))
        }
    }
}

/// Write deadlines against a real PostgreSQL: a session holding a lock on `readings` makes
/// every insert wait, as a commit waiting for a stalled synchronous standby does.
@Suite("Write deadline", .serialized, .timeLimit(.minutes(3)))
struct WriteDeadlineTests {
    final class RecordingAcks: AckPublisher, Sendable {
        let acks = Mutex<[Ack]>([])
        func publish(_ ack: Ack) throws { acks.withLock { $0.append(ack) } }
    }

    /// A connection of its own holding `LOCK TABLE readings IN SHARE MODE` (inserts wait, reads do not) until `release`.
    static func lockReadings(_ settings: PostgresSettings) async throws -> PostgresConnection {
        let connection = try await PostgresConnection.connect(
            configuration: try settings.connectionConfiguration(), id: 99, logger: Logger(label: "test.lock"))
        try await connection.query("BEGIN", logger: Logger(label: "test.lock"))
        try await connection.query("LOCK TABLE readings IN SHARE MODE", logger: Logger(label: "test.lock"))
        return connection
    }

    @Test("a write that waits past its deadline fails with postgres_write_deadline; the batch is retried, acked once the wait ends, stored once")
    func deadlineRetries() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["dl-1"])

            // The store alone: the error and its code.
            let lock = try await Self.lockReadings(configuration.postgres)
            let metrics = AggregatorMetrics()
            let store = ReadingsStore(primary: aggregator.database.client, logger: Logger(label: "test"), metrics: metrics,
                                     deadline: .seconds(1))
            let now = WireClock.nowMs()
            func batch(seq: Int64) -> ReceivedBatch {
                ReceivedBatch(batch: TelemetryBatch(device: DeviceID("dl-1")!, buffer: BufferID(7), readings: (0..<10).map {
                    Reading(seq: seq + $0, ts: now, metric: "power_w", value: 1)
                }), receivedAt: .now)
            }
            let started = ContinuousClock.now
            await #expect(throws: StoreError(.writeDeadline, "")) { _ = try await store.write(IngestBatch([batch(seq: 1)])) }
            let waited = ContinuousClock.now - started
            #expect(waited >= .seconds(1) && waited < .seconds(30), "the deadline fired after \(waited)")
            #expect(metricValue(metrics.render(), "outpost_ingest_write_deadlines_total") == 1)

            // The pipeline: retries past each deadline, no ack, /health's stall; then the lock goes.
            let acks = RecordingAcks()
            let pipeline = IngestPipeline(
                settings: IngestSettings(batchMaxRows: 5_000, batchMaxDelayMs: 20, writers: 1, stallSeconds: 2),
                store: store, acks: acks, metrics: metrics, logger: Logger(label: "test"))
            let running = Task { await pipeline.run() }
            await pipeline.submit(batch(seq: 1))
            try await waitUntil(timeout: .seconds(60), "two more deadlines and the stall reported") {
                (metricValue(metrics.render(), "outpost_ingest_write_deadlines_total") ?? 0) >= 3 && metrics.ingestStalled
            }
            #expect((metricValue(metrics.render(), "outpost_ingest_stalled_seconds") ?? 0) >= 2)
            #expect(metrics.failingWritePaths == ["readings"])
            #expect(acks.acks.withLock { $0 }.isEmpty, "nothing acked while the write cannot commit")
            try await connection(lock, commit: true)
            try await waitUntil(timeout: .seconds(60), "acked once the lock is gone") { !acks.acks.withLock { $0 }.isEmpty }
            try await waitUntil(timeout: .seconds(10), "the stall clears") { !metrics.ingestStalled }
            #expect(metricValue(metrics.render(), "outpost_ingest_stalled_seconds") == 0)
            pipeline.finish()
            await running.value
            #expect(try await fixture.count("SELECT count(*) FROM readings WHERE device = 'dl-1'") == 10)
            #expect(try await fixture.count("SELECT count(DISTINCT seq) FROM readings WHERE device = 'dl-1'") == 10)
            #expect(acks.acks.withLock { $0 }.map(\.device.rawValue) == ["dl-1"])
            #expect(metrics.failingWritePaths.isEmpty)
        }
    }

    @Test("a re-delivery that inserts nothing still writes (it rewrites its marks), so its commit waits for a synchronous standby")
    func conflictPathWritesWAL() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["dl-2"])
            let metrics = AggregatorMetrics()
            let store = ReadingsStore(primary: aggregator.database.client, logger: Logger(label: "test"), metrics: metrics)
            let batch = IngestBatch([ReceivedBatch(batch: TelemetryBatch(device: DeviceID("dl-2")!, buffer: BufferID(1), readings: (1...5).map {
                Reading(seq: $0, ts: WireClock.nowMs(), metric: "power_w", value: 1)
            }), receivedAt: .now)])
            #expect(try await store.write(batch).inserted == 5)
            let nextXid = { try await fixture.count("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::int8") }
            let before = try await nextXid()
            let again = try await store.write(batch)
            #expect(again.inserted == 0 && again.accepted == [DeviceID("dl-2")!])
            // Below its mark, the re-delivery is looked up, not retried after a unique violation.
            #expect((metricValue(metrics.render(), "outpost_ingest_conflict_retries_total") ?? 0) == 0)
            // Its one statement took a transaction id: the marks' upsert wrote WAL.
            #expect(try await nextXid() >= before + 1)
        }
    }

    private func connection(_ connection: PostgresConnection, commit: Bool) async throws {
        try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: Logger(label: "test.lock"))
        try await connection.close()
    }
}

/// Ingest sessions against a real PostgreSQL: a session holding a reading mark's row lock (as
/// one whose commit waits for a stalled synchronous standby does) makes a write wait for it.
@Suite("Ingest sessions", .serialized, .timeLimit(.minutes(4)))
struct IngestSessionTests {
    static let logger = Logger(label: "test.ingest-sessions")

    /// Runs `body` while a connection of its own holds the row lock of `device`'s buffer 1
    /// mark; `body` may end that transaction early by calling its argument. The connection is
    /// closed whatever happens.
    static func holdingMarkLock(_ settings: PostgresSettings, device: String,
                                _ body: (_ release: @Sendable () async throws -> Void) async throws -> Void) async throws {
        let connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 98, logger: logger)
        do {
            try await connection.query("BEGIN", logger: logger)
            let locked = try await connection.query(
                "SELECT high_seq FROM reading_marks WHERE device = \(device) AND buffer = 1 FOR UPDATE", logger: logger).collect().count
            #expect(locked == 1)
            try await body { _ = try await connection.query("ROLLBACK", logger: logger) }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    static func batch(_ device: String, seq: Int64) -> ReceivedBatch {
        ReceivedBatch(batch: TelemetryBatch(device: DeviceID(device)!, buffer: BufferID(1), readings: (0..<10).map {
            Reading(seq: seq + $0, ts: WireClock.nowMs(), metric: "power_w", value: 1)
        }), receivedAt: .now)
    }

    /// Backends of the test's pool, all of them or only those waiting for a lock.
    static func testBackends(_ fixture: AggregatorFixture, waitingForLock: Bool) async throws -> Int {
        try await fixture.count("""
            SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'outpost-ingest-test' AND (\(!waitingForLock) OR wait_event_type = 'Lock')
            """)
    }

    @Test("a held mark lock fails the write with 55P03 within lock_timeout_ms, before the deadline; the pipeline retries it, dead-letters nothing, acks once the lock is gone")
    func lockTimeout() async throws {
        try await AggregatorFixture.withFixture { fixture in
            var configuration = try await fixture.configuration()
            configuration.ingest.lockTimeoutMs = 1_000
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["lk-1"])
            let metrics = AggregatorMetrics()
            let store = ReadingsStore(primary: aggregator.database.ingest, logger: Self.logger, metrics: metrics, deadline: .seconds(30))
            #expect(try await store.write(IngestBatch([Self.batch("lk-1", seq: 1)])).inserted == 10)

            try await Self.holdingMarkLock(configuration.postgres, device: "lk-1") { release in
                let started = ContinuousClock.now
                let outcome = await BatchIsolation<ReceivedBatch, ReadingsStore.Outcome>().write(
                    [Self.batch("lk-1", seq: 11), Self.batch("lk-1", seq: 21)]) { try await store.write(IngestBatch($0)) }
                let waited = ContinuousClock.now - started
                let error = try #require(outcome.transientError as? PSQLError)
                #expect(error.serverInfo?[.sqlState] == "55P03")
                #expect(WriteFailure.classify(error) == .transient)
                #expect(outcome.offenders.isEmpty && outcome.outputs.isEmpty)
                #expect(outcome.remaining.map { $0.batch.readings[0].seq } == [11, 21], "the whole batch is left to retry, in order")
                #expect(waited >= .milliseconds(900) && waited < .seconds(20), "the lock wait ended after \(waited), the deadline is 30 s")
                #expect((metricValue(metrics.render(), "outpost_ingest_write_deadlines_total") ?? 0) == 0)

                // The pipeline: retried while the lock is held, nothing dead-lettered or acked; acked once it goes.
                let acks = WriteDeadlineTests.RecordingAcks()
                let pipeline = IngestPipeline(settings: IngestSettings(batchMaxRows: 5_000, batchMaxDelayMs: 20, writers: 1),
                                              store: store, acks: acks, metrics: metrics, logger: Self.logger)
                let running = Task { await pipeline.run() }
                await pipeline.submit(Self.batch("lk-1", seq: 11))
                try await waitUntil(timeout: .seconds(30), "the readings path reported failing") { metrics.failingWritePaths == ["readings"] }
                try await Task.sleep(for: .seconds(3))
                #expect(acks.acks.withLock { $0 }.isEmpty)
                #expect(try await fixture.count("SELECT count(*) FROM rejected_messages") == 0)
                try await release()
                try await waitUntil(timeout: .seconds(60), "acked once the lock is gone") { !acks.acks.withLock { $0 }.isEmpty }
                pipeline.finish()
                await running.value
            }
            #expect(try await fixture.count("SELECT count(*) FROM rejected_messages") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM readings WHERE device = 'lk-1'") == 20)
            #expect((metricValue(metrics.render(), "outpost_ingest_write_deadlines_total") ?? 0) == 0)
        }
    }

    @Test("a backend whose connection the write deadline closed ends within seconds (client_connection_check_interval), though the lock it waits for is still held")
    func abandonedBackendEnds() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            _ = try await fixture.startInProcess(configuration)  // the schema
            try await fixture.addDevices(["lk-2"])

            // A lock wait longer than the deadline, so only the connection check can end the backend;
            // an application_name of its own, to tell its backends from the aggregator's.
            var options = try configuration.postgres.ingestClientConfiguration(lockTimeoutMs: 600_000, connections: 1)
            options.options.additionalStartupParameters[0] = ("application_name", "outpost-ingest-test")
            let pool = PostgresPool(configuration: options, backgroundLogger: Self.logger)
            let poolRunning = Task { await pool.run() }
            defer { poolRunning.cancel() }
            let store = ReadingsStore(primary: pool, logger: Self.logger, deadline: .seconds(3))
            #expect(try await store.write(IngestBatch([Self.batch("lk-2", seq: 1)])).inserted == 10)
            try await Self.holdingMarkLock(configuration.postgres, device: "lk-2") { _ in
                let write = Task { try await store.write(IngestBatch([Self.batch("lk-2", seq: 11)])) }
                try await waitUntil(timeout: .seconds(10), "the write's backend waits for the mark lock") {
                    try await Self.testBackends(fixture, waitingForLock: true) == 1
                }
                await #expect(throws: StoreError(.writeDeadline, "")) { _ = try await write.value }
                let closed = ContinuousClock.now
                try await waitUntil(timeout: .seconds(30), "the abandoned backend is gone") {
                    try await Self.testBackends(fixture, waitingForLock: false) == 0
                }
                let gone = ContinuousClock.now - closed
                #expect(gone < .seconds(15), "the abandoned backend ended \(gone) after its connection was closed")
                #expect(try await fixture.count("SELECT count(*) FROM pg_locks WHERE NOT granted") == 0, "nothing waits for the mark any more")
            }
            #expect(try await fixture.count("SELECT count(*) FROM readings WHERE device = 'lk-2'") == 10, "the abandoned write stored nothing")
        }
    }
}
