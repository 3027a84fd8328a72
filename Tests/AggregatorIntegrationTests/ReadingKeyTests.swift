import Foundation
import Logging
import OutpostWire
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

/// Exactly once by `(device, buffer, seq)`, whatever the `ts`: ``ReadingsStore`` and
/// `outpost_store_readings` (migration 0120) against a real PostgreSQL, no broker.
@Suite("Ingest exactly once by (device, buffer, seq)", .serialized, .timeLimit(.minutes(3)))
struct ReadingKeyTests {
    static let device = DeviceID("meter-1")!
    /// Noon UTC of 2026-01-10, in the partition of that day; `day` later is the next partition.
    static let noon: Int64 = 1_768_046_400_000
    static let day: Int64 = 86_400_000

    static func message(_ seqs: ClosedRange<Int64>, buffer: BufferID = BufferID(7), ts: Int64 = noon, value: Double = 1) -> ReceivedBatch {
        let readings = seqs.map { Reading(seq: $0, ts: ts, metric: "power_w", value: value) }
        return ReceivedBatch(batch: TelemetryBatch(device: device, buffer: buffer, readings: readings), receivedAt: .now)
    }

    /// A migrated database with device `meter-1` and the partitions of 2026-01-10 and 2026-01-11.
    static func withStore(_ body: (PostgresServer, Database, ReadingsStore, AggregatorMetrics) async throws -> Void) async throws {
        try await SchemaTests.withDatabase { server, database in
            let runner = MigrationRunner(client: database.client, directory: SchemaTests.migrations, logger: Logger(label: "test.migrate"))
            try await runner.migrate()
            _ = try await server.psql("""
                INSERT INTO devices (id) VALUES ('meter-1');
                SELECT outpost_ensure_readings_partition('2026-01-10'), outpost_ensure_readings_partition('2026-01-11')
                """)
            let metrics = AggregatorMetrics()
            let store = ReadingsStore(primary: database.client, logger: Logger(label: "test.store"), metrics: metrics)
            try await body(server, database, store, metrics)
        }
    }

    static func count(_ server: PostgresServer, _ condition: String = "true") async throws -> Int {
        Int(try await server.psql("SELECT count(*) FROM readings WHERE \(condition)")) ?? -1
    }

    @Test("a later batch repeating (buffer, seq) with another ts stores nothing: the first ts is kept, the repeat counted, across partitions")
    func repeatInLaterBatch() async throws {
        try await Self.withStore { server, _, store, _ in
            var outcome = try await store.write(IngestBatch([Self.message(1...100)]))
            #expect(outcome.inserted == 100 && outcome.conflicting == 0 && outcome.accepted == [Self.device])

            // 51...100 again a day later (the next partition), 101...150 new.
            outcome = try await store.write(IngestBatch([Self.message(51...150, ts: Self.noon + Self.day)]))
            #expect(outcome.inserted == 50)
            #expect(outcome.conflicting == 50)
            #expect(outcome.conflictingDevices == [Self.device])
            // 1...5 again far in the future (the default partition) and with another value.
            outcome = try await store.write(IngestBatch([Self.message(1...5, ts: Self.noon + 1_000 * Self.day, value: 9)]))
            #expect(outcome.inserted == 0 && outcome.conflicting == 5)
            // An exact re-delivery is a duplicate, not a conflict.
            outcome = try await store.write(IngestBatch([Self.message(1...10)]))
            #expect(outcome.inserted == 0 && outcome.conflicting == 0)

            #expect(try await Self.count(server) == 150)
            #expect(try await server.psql("SELECT count(DISTINCT (device, buffer, seq)) FROM readings") == "150")
            #expect(try await Self.count(server, "seq <= 100 AND ts = to_timestamp(\(Self.noon / 1_000)) AND value = 1") == 100)
            #expect(try await server.psql("SELECT count(*) FROM ONLY readings_default") == "0")
            #expect(try await server.psql("SELECT high_seq FROM reading_marks WHERE device = 'meter-1' AND buffer = 7") == "150")

            // Below the mark but never stored (a batch that lost a race): looked up and stored.
            outcome = try await store.write(IngestBatch([Self.message(200...210)]))
            #expect(outcome.inserted == 11)
            outcome = try await store.write(IngestBatch([Self.message(160...170, ts: Self.noon + Self.day)]))
            #expect(outcome.inserted == 11 && outcome.conflicting == 0)
            #expect(try await Self.count(server) == 172)
        }
    }

    @Test("the same (buffer, seq) twice inside one batch is stored once, the first occurrence")
    func repeatInsideOneBatch() async throws {
        try await Self.withStore { server, _, store, _ in
            let batch = IngestBatch([
                Self.message(1...10), Self.message(5...20, ts: Self.noon + Self.day), Self.message(1...3, buffer: BufferID(8)),
            ])
            let outcome = try await store.write(batch)
            #expect(outcome.inserted == 23)
            #expect(outcome.conflicting == 6)
            #expect(try await Self.count(server) == 23)
            #expect(try await Self.count(server, "buffer = 7 AND seq <= 10 AND ts = to_timestamp(\(Self.noon / 1_000))") == 10)
            #expect(try await server.psql("SELECT string_agg(buffer || ':' || high_seq, ',' ORDER BY buffer) FROM reading_marks") == "7:20,8:3")
        }
    }

    @Test("a reading stored outside ingest above its buffer's mark: the batch is written again looking up every reading")
    func storedAboveTheMark() async throws {
        try await Self.withStore { server, _, store, metrics in
            _ = try await store.write(IngestBatch([Self.message(1...10)]))
            _ = try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                VALUES ('meter-1', 7, 12, to_timestamp(\(Self.noon / 1_000)), 'power_w', 1)
                """)
            let outcome = try await store.write(IngestBatch([Self.message(11...13)]))
            #expect(outcome.inserted == 2 && outcome.conflicting == 0)
            #expect(metricValue(metrics.render(), "outpost_ingest_conflict_retries_total") == 1)
            #expect(try await Self.count(server) == 13)
            #expect(try await server.psql("SELECT high_seq FROM reading_marks") == "13")
        }
    }

    @Test("two writers at once for one device: the second waits on the mark's row lock, then stores only what is new")
    func concurrentWriters() async throws {
        try await Self.withStore { server, database, store, _ in
            // Round 1: no mark yet (both insert it); round 2: a mark (both update it).
            for (first, second) in [(1...100, 51...150), (151...250, 200...300)] as [(ClosedRange<Int64>, ClosedRange<Int64>)] {
                let stored = try await Self.count(server)
                try await database.client.withConnection { connection in
                    try await connection.query("BEGIN", logger: Logger(label: "test"))
                    let plan = IngestBatch([Self.message(first)]).writePlan
                    for try await row in try await connection.query(ReadingsStore.statement(plan, checkAll: false), logger: Logger(label: "test"))
                        .decode((Int64, Int64, [String], [String], [String]).self)
                    {
                        #expect(row.0 == Int64(first.count))
                    }
                    // The other aggregator's batch: the same device and buffer, overlapping seqs, another ts.
                    let other = Task { try await store.write(IngestBatch([Self.message(second, ts: Self.noon + Self.day)])) }
                    try await waitUntil(timeout: .seconds(30), "the second writer waits on a lock") {
                        try await server.psql("""
                            SELECT count(*) FROM pg_stat_activity
                            WHERE wait_event_type = 'Lock' AND query LIKE '%outpost_store_readings%'
                            """) == "1"
                    }
                    #expect(try await Self.count(server) == stored)
                    try await connection.query("COMMIT", logger: Logger(label: "test"))
                    let outcome = try await other.value
                    let overlap = Int(first.upperBound - second.lowerBound + 1)
                    #expect(outcome.inserted == second.count - overlap)
                    #expect(outcome.conflicting == overlap)
                }
                #expect(try await Self.count(server) == stored + Int(second.upperBound - first.lowerBound + 1))
                #expect(try await server.psql("SELECT count(*) - count(DISTINCT seq) FROM readings") == "0")
            }
            #expect(try await server.psql("SELECT high_seq FROM reading_marks") == "300")
        }
    }

    @Test("migration 0120 sets each buffer's mark from the readings already stored")
    func migrationBackfillsMarks() async throws {
        try await SchemaTests.withDatabase { server, database in
            let directory = try TemporaryDirectory(prefix: "outpost-migrations")
            defer { directory.remove() }
            let all = try FileManager.default.contentsOfDirectory(atPath: SchemaTests.migrations).filter { $0.hasSuffix(".sql") }
            for name in all where name < "0120" {
                try FileManager.default.copyItem(atPath: SchemaTests.migrations + "/" + name, toPath: directory.file(name))
            }
            let runner = MigrationRunner(client: database.client, directory: directory.path, logger: Logger(label: "test.migrate"))
            try await runner.migrate()
            _ = try await server.psql("""
                INSERT INTO devices (id) VALUES ('meter-1');
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', b, s, to_timestamp(\(Self.noon / 1_000)), 'power_w', 1 FROM generate_series(1, 2) b, generate_series(1, 40 * b) s
                """)
            for name in all where name >= "0120" {
                try FileManager.default.copyItem(atPath: SchemaTests.migrations + "/" + name, toPath: directory.file(name))
            }
            #expect(try await runner.migrate().contains(120))
            #expect(try await server.psql("SELECT string_agg(buffer || ':' || high_seq, ',' ORDER BY buffer) FROM reading_marks") == "1:40,2:80")
            let store = ReadingsStore(primary: database.client, logger: Logger(label: "test.store"))
            let outcome = try await store.write(IngestBatch([Self.message(79...81, buffer: BufferID(2), ts: Self.noon + Self.day)]))
            #expect(outcome.inserted == 1 && outcome.conflicting == 2)
            #expect(try await Self.count(server) == 121)
        }
    }
}
