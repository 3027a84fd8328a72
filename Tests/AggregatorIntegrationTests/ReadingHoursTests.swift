import AggregatorTestSupport
import Foundation
import Logging
import OutpostWire
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

/// The hourly rollup `reading_hours` (migration 0170) against a real PostgreSQL, no broker:
/// it stays equal to a GROUP BY over `readings`, and the 1 h and 1 d buckets read from it
/// equal those computed from every reading.
///
/// Every value is a multiple of 1/4 below 2^10 in magnitude, so every sum of them is exact
/// in float8 whatever the order of the additions: rollup and readings must agree bit for bit,
/// averages included.
@Suite("Hourly rollup of readings", .serialized, .timeLimit(.minutes(5)))
struct ReadingHoursTests {
    static let noon = ReadingKeyTests.noon
    static let hourMs: Int64 = 3_600_000

    /// Both sides as text, one row per (device, metric, hour); float8 prints its shortest exact form.
    static func rollup(_ server: PostgresServer) async throws -> String {
        try await server.psql("""
            SELECT coalesce(string_agg(concat_ws(' ', device, metric, hour, count, sum, min, max), ',' ORDER BY device, metric, hour), '')
            FROM reading_hours
            """)
    }

    static func direct(_ server: PostgresServer) async throws -> String {
        try await server.psql("""
            SELECT coalesce(string_agg(concat_ws(' ', device, metric, hour, count, sum, min, max), ',' ORDER BY device, metric, hour), '')
            FROM (SELECT device, metric, date_bin(interval '1 hour', ts, timestamptz 'epoch') AS hour,
                         count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
                  FROM readings GROUP BY 1, 2, 3) r
            """)
    }

    /// One message of `device`'s `buffer`.
    static func message(_ device: String, _ buffer: Int64, _ readings: [Reading]) -> ReceivedBatch {
        ReceivedBatch(batch: TelemetryBatch(device: DeviceID(device)!, buffer: BufferID(UInt64(buffer)), readings: readings), receivedAt: .now)
    }

    /// Deliveries of 400 readings for each of three (device, buffer)s over two days, in chunks,
    /// with exact re-deliveries, conflicting repeats (same seqs, another ts and value), a fifth of
    /// the chunks held back and sent last (out-of-order backlogs, below the marks), and several
    /// messages per write, dealt to two writers.
    static func deliveries(_ dice: inout SeededRandom) -> ([IngestBatch], [IngestBatch]) {
        var messages: [ReceivedBatch] = []
        var held: [ReceivedBatch] = []
        for (device, buffer) in [("meter-1", 1), ("meter-1", 2), ("meter-2", 1)] as [(String, Int64)] {
            var seq: Int64 = 1
            while seq <= 400 {
                let size = Int64.random(in: 1...40, using: &dice)
                let readings = (seq..<min(seq + size, 401)).map { s in
                    Reading(seq: s, ts: noon - 6 * hourMs + s * 307_000 + Int64.random(in: 0..<300_000, using: &dice),
                            metric: Bool.random(using: &dice) ? "power_w" : "voltage_v",
                            value: Double(Int.random(in: -4000...4000, using: &dice)) / 4)
                }
                seq += size
                let original = message(device, buffer, readings)
                if Int.random(in: 0..<5, using: &dice) == 0 { held.append(original) } else { messages.append(original) }
                if Int.random(in: 0..<10, using: &dice) < 3, let earlier = messages.randomElement(using: &dice) { messages.append(earlier) }
                if Int.random(in: 0..<10, using: &dice) < 2 {
                    let repeats = readings.map { Reading(seq: $0.seq, ts: $0.ts + hourMs, metric: $0.metric, value: $0.value + 1) }
                    messages.append(message(device, buffer, repeats))
                }
            }
        }
        var writers: ([IngestBatch], [IngestBatch]) = ([], [])
        var queue = messages + held
        while !queue.isEmpty {
            let take = min(queue.count, Int.random(in: 1...3, using: &dice))
            let batch = IngestBatch(Array(queue.prefix(take)))
            queue.removeFirst(take)
            if Bool.random(using: &dice) { writers.0.append(batch) } else { writers.1.append(batch) }
        }
        return writers
    }

    /// A migrated database with devices `meter-1` and `meter-2` and the partitions of 2026-01-09 to 2026-01-11.
    static func withStore(_ body: (PostgresServer, Database, ReadingsStore) async throws -> Void) async throws {
        try await SchemaTests.withDatabase { server, database in
            try await MigrationRunner(client: database.client, directory: SchemaTests.migrations, logger: Logger(label: "test.migrate")).migrate()
            _ = try await server.psql("""
                INSERT INTO devices (id) VALUES ('meter-1'), ('meter-2');
                SELECT outpost_ensure_readings_partition(d::date) FROM generate_series(date '2026-01-09', date '2026-01-11', interval '1 day') d
                """)
            try await body(server, database, ReadingsStore(primary: database.client, logger: Logger(label: "test.store")))
        }
    }

    @Test("after random ingest by two writers at once (duplicates, conflicts, re-deliveries, backlogs) the rollup equals a GROUP BY over readings")
    func randomIngest() async throws {
        try await Self.withStore { server, _, store in
            for seed in [1, 2, 3] as [UInt64] {
                _ = try await server.psql("TRUNCATE readings, reading_marks")
                #expect(try await Self.rollup(server) == "")
                var dice = SeededRandom(state: seed)
                let (first, second) = Self.deliveries(&dice)
                async let a = first.asyncReduce((0, 0)) { counts, batch in
                    let outcome = try await store.write(batch)
                    return (counts.0 + outcome.inserted, counts.1 + outcome.conflicting)
                }
                async let b = second.asyncReduce((0, 0)) { counts, batch in
                    let outcome = try await store.write(batch)
                    return (counts.0 + outcome.inserted, counts.1 + outcome.conflicting)
                }
                let (inserted, conflicting) = try await (a.0 + b.0, a.1 + b.1)
                #expect(inserted == 1200, "seed \(seed)")
                #expect(conflicting > 0, "seed \(seed)")
                #expect(try await server.psql("SELECT count(*) FROM readings") == "1200")
                #expect(try await server.psql("SELECT sum(count) FROM reading_hours") == "1200")
                let rollup = try await Self.rollup(server)
                #expect(rollup.split(separator: ",").count > 40, "seed \(seed)")
                #expect(rollup == (try await Self.direct(server)), "seed \(seed)")
            }
        }
    }

    @Test("1h and 1d buckets from the rollup, over ranges with partial hours at both ends and in pages, equal buckets of every reading")
    func bucketsEqualRawBuckets() async throws {
        try await Self.withStore { server, database, store in
            var dice = SeededRandom(state: 7)
            let (first, second) = Self.deliveries(&dice)
            for batch in first + second { _ = try await store.write(batch) }
            let start = Double(Self.noon) / 1000 - 8 * 3600
            var compared = 0
            for _ in 0..<12 {
                let from = Date(timeIntervalSince1970: start + Double(Int.random(in: 0..<30_000, using: &dice)) + 0.25)
                let to = from.addingTimeInterval(Double(Int.random(in: 1_000...120_000, using: &dice)) + 0.5)
                for (bucket, limit) in [("1h", 5), ("1h", 1000), ("1d", 1), ("1d", 10)] {
                    var pages: [ReadingsStore.Aggregate] = []
                    var cursor: String?
                    repeat {
                        var parameters = ["metric": "power_w", "bucket": bucket, "limit": "\(limit)", "from": APIJSON.timestamp(from),
                                          "to": APIJSON.timestamp(to)]
                        parameters["cursor"] = cursor
                        let (items, next) = try await store.buckets(device: "meter-1", ReadingsQuery(parameters))
                        pages += items
                        cursor = next
                    } while cursor != nil
                    let width: Int64 = bucket == "1h" ? 3_600_000_000 : 86_400_000_000
                    var expected: [ReadingsStore.Aggregate] = []
                    let rows = try await database.client.query(ReadingsStore.rawBuckets(
                        device: "meter-1", metric: "power_w", width: width,
                        from: ReadingsQuery.microseconds(from), to: ReadingsQuery.microseconds(to)))
                    for try await (start, avg, min, max, count) in rows.decode((Int64, Double, Double, Double, Int64).self) {
                        expected.append(.init(start: Date(timeIntervalSince1970: Double(start) / 1_000_000), avg: avg, min: min, max: max, count: count))
                    }
                    #expect(pages == expected, "\(bucket) limit \(limit) from \(from) to \(to)")
                    compared += expected.count
                }
            }
            #expect(compared > 100)
            // Whole hours alone come from the rollup: emptying it leaves only the partial hours' readings.
            _ = try await server.psql("DELETE FROM reading_hours")
            let whole = try ReadingsQuery(["metric": "power_w", "bucket": "1h", "from": "2026-01-10T06:00:00Z", "to": "2026-01-10T12:00:00Z"])
            #expect(try await store.buckets(device: "meter-1", whole).0.isEmpty)
            let partial = try ReadingsQuery(["metric": "power_w", "bucket": "1h", "from": "2026-01-10T06:30:00Z", "to": "2026-01-10T08:00:00Z"])
            #expect(try await store.buckets(device: "meter-1", partial).0.map(\.start) == [Date(timeIntervalSince1970: Double(Self.noon) / 1000 - 6 * 3600)])
        }
    }

    @Test("retention's trim deletes the rollup's hours before its horizon, in batches, after the drop; DELETE and TRUNCATE on readings keep it exact")
    func retentionAndDeletes() async throws {
        try await Self.withStore { server, _, _ in
            // Readings on 2026-01-09 to 2026-01-11 (partitions) and on 2026-01-05 and 2026-01-20 (the default partition).
            _ = try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 1, s, timestamptz '2026-01-05T00:00:00Z' + s * interval '7 minutes', 'power_w', (s % 37) / 4.0
                FROM generate_series(1, 1000) s;
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-2', 1, s, timestamptz '2026-01-09T00:00:00Z' + s * interval '3 minutes', 'power_w', s / 2.0
                FROM generate_series(1, 1400) s
                """)
            #expect(try await server.psql("SELECT count(*) FROM ONLY readings_default") != "0")
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))
            // Moving a day out of the default partition into its own changes neither side.
            let before = try await Self.rollup(server)
            _ = try await server.psql("SELECT outpost_ensure_readings_partition('2026-01-06')")
            #expect(try await server.psql("SELECT count(*) FROM readings_p20260106") == "206")
            #expect(try await Self.rollup(server) == before)
            #expect(try await Self.direct(server) == before)

            // Dropping partitions leaves the rollup alone; the trim (in batches of 3 here) deletes the hours before the horizon.
            let hoursBefore = try await server.psql("SELECT count(*) FROM reading_hours WHERE hour < '2026-01-10T00:00:00Z'")
            let dropped = try await server.psql("SELECT string_agg(p, ',' ORDER BY p) FROM outpost_drop_readings_before('2026-01-10') p")
            #expect(dropped == "readings_p20260106,readings_p20260109")
            #expect(try await server.psql("SELECT count(*) FROM reading_hours WHERE hour < '2026-01-10T00:00:00Z'") == hoursBefore)
            #expect(Int(hoursBefore)! > 6)
            // A re-delivery into the default partition before the trim: its hour is computed again, not lost.
            _ = try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('meter-1', 1, 1, '2026-01-05T00:07:00Z', 'power_w', 0.25)
                """)
            var batches: [String] = []
            repeat {
                batches.append(try await server.psql("SELECT outpost_trim_reading_hours('2026-01-10', 3)"))
            } while batches.last == "3"
            #expect(batches.count > 2)
            #expect(try await server.psql("SELECT string_agg(concat_ws(' ', hour, count, sum), ',') FROM reading_hours WHERE hour < '2026-01-10T00:00:00Z'")
                    == "2026-01-05 00:00:00+00 1 0.25")
            #expect(try await server.psql("SELECT count(*) FROM reading_hours") != "0")
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))

            // A delete through `readings` recomputes the hours it touched, dropping the emptied ones.
            _ = try await server.psql("DELETE FROM readings WHERE seq % 3 = 0 OR ts >= '2026-01-10T10:00:00Z' AND ts < '2026-01-10T12:00:00Z'")
            #expect(try await server.psql("""
                SELECT count(*) FROM reading_hours WHERE hour IN ('2026-01-10T10:00:00Z', '2026-01-10T11:00:00Z')
                """) == "0")
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))
            _ = try await server.psql("TRUNCATE readings")
            #expect(try await Self.rollup(server) == "")
        }
    }

    /// Buckets of `bucket` from the store equal buckets of every reading over `[from, to)`, of which there are `atLeast`.
    static func expectExactBuckets(_ database: Database, _ store: ReadingsStore, bucket: String, from: String, to: String,
                                   atLeast: Int = 10, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let query = try ReadingsQuery(["metric": "power_w", "bucket": bucket, "limit": "1000", "from": from, "to": to])
        let (items, next) = try await store.buckets(device: "meter-1", query)
        #expect(next == nil, sourceLocation: sourceLocation)
        var expected: [ReadingsStore.Aggregate] = []
        let rows = try await database.client.query(ReadingsStore.rawBuckets(
            device: "meter-1", metric: "power_w", width: query.bucket.seconds! * 1_000_000,
            from: ReadingsQuery.microseconds(query.from), to: ReadingsQuery.microseconds(query.to)))
        for try await (start, avg, min, max, count) in rows.decode((Int64, Double, Double, Double, Int64).self) {
            expected.append(.init(start: Date(timeIntervalSince1970: Double(start) / 1_000_000), avg: avg, min: min, max: max, count: count))
        }
        #expect(expected.count >= atLeast, sourceLocation: sourceLocation)
        #expect(items == expected, sourceLocation: sourceLocation)
    }

    @Test("migration 0170 lists the filled partitions without reading them; maintenance rolls them up one by one, all but today's; buckets are exact throughout")
    func migrationDefersBackfill() async throws {
        try await SchemaTests.withDatabase { server, database in
            let directory = try TemporaryDirectory(prefix: "outpost-migrations")
            defer { directory.remove() }
            let all = try FileManager.default.contentsOfDirectory(atPath: SchemaTests.migrations).filter { $0.hasSuffix(".sql") }
            for name in all where name < "0170" {
                try FileManager.default.copyItem(atPath: SchemaTests.migrations + "/" + name, toPath: directory.file(name))
            }
            let runner = MigrationRunner(client: database.client, directory: directory.path, logger: Logger(label: "test.migrate"))
            try await runner.migrate()
            let today = try await server.psql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
            let later = try await server.psql("SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 days', 'YYYYMMDD')")
            // Readings on 2026-01-09 and 2026-01-10 (partitions), 2026-01-05 (the default partition), today and the
            // day after tomorrow (their partitions); 2026-01-11's partition stays empty.
            _ = try await server.psql("""
                INSERT INTO devices (id) VALUES ('meter-1');
                SELECT outpost_ensure_readings_partition(d::date) FROM generate_series(date '2026-01-09', date '2026-01-11', interval '1 day') d;
                SELECT outpost_ensure_readings_partition((now() AT TIME ZONE 'UTC')::date);
                SELECT outpost_ensure_readings_partition((now() AT TIME ZONE 'UTC')::date + 2);
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 1, s, timestamptz '2026-01-09T00:00:00Z' + s * interval '3 minutes', 'power_w', (s % 41) / 4.0
                FROM generate_series(1, 900) s;
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 2, s, timestamptz '2026-01-05T00:00:00Z' + s * interval '7 minutes', 'power_w', s / 4.0
                FROM generate_series(1, 300) s;
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 3, s, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + s * interval '1 minute', 'power_w', s
                FROM generate_series(1, 10) s;
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 4, s, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 days' + s * interval '1 hour', 'power_w', s
                FROM generate_series(1, 10) s
                """)
            for name in all where name >= "0170" {
                try FileManager.default.copyItem(atPath: SchemaTests.migrations + "/" + name, toPath: directory.file(name))
            }
            #expect(try await runner.migrate().contains(170))
            #expect(try await server.psql("SELECT count(*) FROM reading_hours") == "0")
            let pending = "SELECT string_agg(partition, ',' ORDER BY partition) FROM reading_hours_pending"
            #expect(try await server.psql(pending) == "readings_default,readings_p20260109,readings_p20260110,readings_p\(today),readings_p\(later)")
            let store = ReadingsStore(primary: database.client, logger: Logger(label: "test.store"))
            try await Self.expectExactBuckets(database, store, bucket: "1h", from: "2026-01-04T00:00:00Z", to: "2026-01-12T00:00:00Z")

            // Writes before the backfill: the triggers add to hours the rollup does not hold whole yet.
            let more = (901...940).map { Reading(seq: Int64($0), ts: 1_767_916_800_000 + Int64($0) * 180_000 - 90_000, metric: "power_w", value: 2) }
            #expect(try await store.write(IngestBatch([Self.message("meter-1", 1, more)])).inserted == 40)
            _ = try await server.psql("DELETE FROM readings WHERE buffer = 1 AND seq % 5 = 0")
            #expect(try await server.psql("SELECT count(*) FROM reading_hours") != "0")
            #expect(try await Self.rollup(server) != (try await Self.direct(server)))
            try await Self.expectExactBuckets(database, store, bucket: "1h", from: "2026-01-04T00:00:00Z", to: "2026-01-12T00:00:00Z")
            try await Self.expectExactBuckets(database, store, bucket: "1d", from: "2025-12-01T00:00:00Z", to: "2026-01-12T00:00:00Z", atLeast: 4)

            // A day moved out of the pending default partition is pending too (2026-01-06 holds the rest of the
            // default's readings, which stay there); a new partition that took no rows is not.
            _ = try await server.psql("SELECT outpost_ensure_readings_partition('2026-01-05'), outpost_ensure_readings_partition('2026-01-08')")
            var done: [String] = []
            while true {
                let next = try await server.psql("SELECT outpost_backfill_reading_hours()")
                if next.isEmpty { break }
                done.append(next)
                #expect(done.count <= 5)
            }
            #expect(done == ["readings_default", "readings_p20260105", "readings_p20260109", "readings_p20260110", "readings_p\(later)"])
            #expect(try await server.psql(pending) == "readings_p\(today)")
            let past = "WHERE hour < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            #expect(try await server.psql("SELECT count(*) FROM reading_hours \(past)") == (try await server.psql("""
                SELECT count(DISTINCT date_bin(interval '1 hour', ts, timestamptz 'epoch')) FROM readings
                WHERE ts < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                """)))
            try await Self.expectExactBuckets(database, store, bucket: "1h", from: "2026-01-04T00:00:00Z", to: "2026-01-12T00:00:00Z")

            // The maintenance pass leaves today's partition for tomorrow.
            try await SchemaService(database: database, migrationsDirectory: directory.path,
                                    settings: ReadingsSettings(retentionDays: 0, auditRetentionDays: 0, commandRetentionDays: 0),
                                    readiness: SchemaReadiness(), logger: Logger(label: "test.schema")).maintain()
            #expect(try await server.psql(pending) == "readings_p\(today)")
            // As the first pass after midnight would.
            _ = try await server.psql("""
                SELECT outpost_rebuild_reading_hours(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() + interval '1 day');
                DELETE FROM reading_hours_pending
                """)
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))
            try await Self.expectExactBuckets(database, store, bucket: "1h", from: "2026-01-04T00:00:00Z", to: "2026-01-12T00:00:00Z")
            // Now whole hours come from the rollup.
            _ = try await server.psql("DELETE FROM reading_hours WHERE hour >= '2026-01-09T00:00:00Z' AND hour < '2026-01-11T00:00:00Z'")
            let whole = try ReadingsQuery(["metric": "power_w", "bucket": "1h", "from": "2026-01-09T00:00:00Z", "to": "2026-01-11T00:00:00Z"])
            #expect(try await store.buckets(device: "meter-1", whole).0.isEmpty)
        }
    }

    @Test("UPDATE through readings keeps the rollup exact; outpost_rebuild_reading_hours repairs writes made to a partition directly")
    func updatesAndRebuild() async throws {
        try await Self.withStore { server, _, _ in
            _ = try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-1', 1, s, timestamptz '2026-01-09T00:00:00Z' + s * interval '3 minutes', 'power_w', s / 2.0
                FROM generate_series(1, 1400) s
                """)
            let before = try await Self.rollup(server)
            _ = try await server.psql("UPDATE readings SET value = value + 1 WHERE seq % 4 = 0")
            // Across hours, and across partitions for the readings near midnight.
            _ = try await server.psql("UPDATE readings SET ts = ts + interval '90 minutes' WHERE seq % 7 = 0")
            _ = try await server.psql("UPDATE readings SET value = -value WHERE seq = 13")
            #expect(try await Self.rollup(server) != before)
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))

            _ = try await server.psql("""
                INSERT INTO readings_p20260110 (device, buffer, seq, ts, metric, value)
                SELECT 'meter-2', 1, s, timestamptz '2026-01-10T05:00:00Z' + s * interval '1 minute', 'power_w', 1 FROM generate_series(1, 100) s;
                DELETE FROM readings_p20260110 WHERE device = 'meter-1' AND seq % 2 = 1
                """)
            #expect(try await Self.rollup(server) != (try await Self.direct(server)))
            _ = try await server.psql("SELECT outpost_rebuild_reading_hours('2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z')")
            #expect(try await Self.rollup(server) == (try await Self.direct(server)))
        }
    }
}

extension Sequence {
    /// Folds the elements in order, awaiting each step.
    fileprivate func asyncReduce<Result>(_ initial: Result, _ next: (Result, Element) async throws -> Result) async rethrows -> Result {
        var result = initial
        for element in self { result = try await next(result, element) }
        return result
    }
}
