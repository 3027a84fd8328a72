import Foundation
import Logging
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

/// Migrations and readings partitions against a real PostgreSQL.
@Suite("Schema", .serialized, .timeLimit(.minutes(3)))
struct SchemaTests {
    static let migrations = AggregatorFixture.packageRoot.appendingPathComponent("Aggregator/Migrations").path

    static func withDatabase(_ body: (PostgresServer, Database) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-schema")
        let server = try await PostgresServer(directory: directory.path)
        let database = try Database(
            settings: PostgresSettings(port: server.port, username: server.user, database: server.database),
            logger: Logger(label: "test.schema"))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                try await body(server, database)
            }
        } catch {
            await server.stop()
            directory.remove()
            throw error
        }
        await server.stop()
        directory.remove()
    }

    @Test("two runners at once apply each migration exactly once; a later run applies nothing")
    func concurrentRunners() async throws {
        try await Self.withDatabase { server, database in
            let all = try MigrationRunner.load(directory: Self.migrations).map(\.version)
            #expect(all.first == 1 && all.contains(10) && all.contains(12))
            let runner = MigrationRunner(client: database.client, directory: Self.migrations, logger: Logger(label: "test.migrate"))
            async let first = runner.migrate()
            async let second = runner.migrate()
            let (a, b) = try await (first, second)
            #expect(Set(a).isDisjoint(with: b))
            #expect((a + b).sorted() == all)
            #expect(try await runner.migrate().isEmpty)
            #expect(try await server.psql("SELECT count(*), count(DISTINCT version) FROM schema_migrations") == "\(all.count)|\(all.count)")
        }
    }

    @Test("partitions are made ahead, rows stranded in the default partition move into a new one, retention drops old ones")
    func partitions() async throws {
        try await Self.withDatabase { server, database in
            try await MigrationRunner(client: database.client, directory: Self.migrations, logger: Logger(label: "test.migrate"))
                .migrate()
            try await server.psql("INSERT INTO devices (id) VALUES ('meter-p')")
            let settings = ReadingsSettings(retentionDays: 3, partitionsAheadDays: 2, partitionsBehindDays: 1)
            let service = SchemaService(database: database, migrationsDirectory: Self.migrations, settings: settings,
                                        readiness: SchemaReadiness(), logger: Logger(label: "test.schema"))
            let day = 86_400.0
            let start = Date(timeIntervalSince1970: 1_763_800_000)  // 2025-11-22
            try await service.maintain(today: start)
            func partitions() async throws -> [String] {
                try await server.psql("""
                    SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'readings'::regclass
                    """).split(separator: ",").map(String.init)
            }
            #expect(try await partitions() == ["readings_default", "readings_p20251121", "readings_p20251122", "readings_p20251123",
                                          "readings_p20251124"])
            // A reading for a day without a partition lands in the default partition...
            try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                VALUES ('meter-p', 1, 1, '2025-11-25 12:00:00+00', 'power_w', 1), ('meter-p', 1, 2, '2025-11-22 12:00:00+00', 'power_w', 2)
                """)
            #expect(try await server.psql("SELECT count(*) FROM ONLY readings_default") == "1")
            // ...and moves into that day's partition when it is made; the key still refuses a re-delivery.
            try await service.maintain(today: start.addingTimeInterval(2 * day))
            #expect(try await server.psql("SELECT count(*) FROM ONLY readings_default") == "0")
            #expect(try await server.psql("SELECT count(*) FROM readings_p20251125") == "1")
            try await server.psql("""
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                VALUES ('meter-p', 1, 1, '2025-11-25 12:00:00+00', 'power_w', 1) ON CONFLICT DO NOTHING
                """)
            #expect(try await server.psql("SELECT count(*) FROM readings") == "2")
            // Five days on, with three days of retention, the partitions before 2025-11-24 are gone.
            try await service.maintain(today: start.addingTimeInterval(5 * day))
            let left = try await partitions()
            #expect(!left.contains("readings_p20251122") && !left.contains("readings_p20251123"))
            #expect(left.contains("readings_p20251124") && left.contains("readings_p20251129"))
            #expect(try await server.psql("SELECT count(*) FROM readings") == "1")
            // The indexes the Admin API relies on exist on every partition.
            #expect(try await server.psql("SELECT count(*) FROM pg_indexes WHERE tablename = 'readings_p20251129'") == "3")
        }
    }

    @Test("retention deletes audit rows and finished commands past their days, in batches; queued and sent commands stay")
    func auditAndCommandRetention() async throws {
        try await Self.withDatabase { server, database in
            try await MigrationRunner(client: database.client, directory: Self.migrations, logger: Logger(label: "test.migrate"))
                .migrate()
            try await server.psql("INSERT INTO devices (id) VALUES ('meter-r')")
            // 10,005 audit rows 500 days old (over one batch), 3 rows 10 days old.
            try await server.psql("""
                INSERT INTO audit_log (at, actor, action) SELECT now() - interval '500 days', 'cli:root', 'device.revoke'
                FROM generate_series(1, \(SchemaService.retentionBatch + 5));
                INSERT INTO audit_log (at, actor, action) SELECT now() - interval '10 days', 'cli:root', 'command.send' FROM generate_series(1, 3)
                """)
            let columns = "id, device, name, created_by, status, created_at, expires_at"
            try await server.psql("""
                INSERT INTO commands (\(columns)) VALUES
                  ('c-old-done', 'meter-r', 'ping', 'cli:root', 'succeeded', now() - interval '100 days', now() - interval '99 days'),
                  ('c-old-expired', 'meter-r', 'ping', 'cli:root', 'expired', now() - interval '100 days', now() - interval '99 days'),
                  ('c-old-queued', 'meter-r', 'ping', 'cli:root', 'queued', now() - interval '100 days', now() + interval '1 day'),
                  ('c-new-done', 'meter-r', 'ping', 'cli:root', 'failed', now() - interval '10 days', now() - interval '9 days')
                """)
            let service = SchemaService(database: database, migrationsDirectory: Self.migrations, settings: ReadingsSettings(),
                                        readiness: SchemaReadiness(), logger: Logger(label: "test.schema"))
            try await service.maintain()
            #expect(try await server.psql("SELECT count(*), min(action) FROM audit_log") == "3|command.send")
            #expect(try await server.psql("SELECT string_agg(id, ',' ORDER BY id) FROM commands") == "c-new-done,c-old-queued")
            // 0 days keeps everything.
            let keepAll = SchemaService(database: database, migrationsDirectory: Self.migrations,
                                        settings: ReadingsSettings(auditRetentionDays: 0, commandRetentionDays: 0),
                                        readiness: SchemaReadiness(), logger: Logger(label: "test.schema"))
            try await keepAll.maintain(today: Date().addingTimeInterval(1_000 * 86_400))
            #expect(try await server.psql("SELECT count(*) FROM audit_log") == "3")
            #expect(try await server.psql("SELECT count(*) FROM commands") == "2")
        }
    }
}
