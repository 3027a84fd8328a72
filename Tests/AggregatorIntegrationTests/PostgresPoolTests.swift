import Logging
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

/// ``PostgresPool`` against a real PostgreSQL: a connection that closes under a statement whose
/// answer never comes (what postgres-nio 1.33 does with a statement written to a closing
/// connection) ends the wait with `postgres_connection_lost`, and the pool goes on serving.
@Suite("PostgreSQL pool", .serialized, .timeLimit(.minutes(3)))
struct PostgresPoolTests {
    static let logger = Logger(label: "test.pool")

    static func withPool(maximumConnections: Int? = nil, _ body: (PostgresPool) async throws -> Void) async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            var client = try configuration.postgres.clientConfiguration()
            if let maximumConnections { client.options.maximumConnections = maximumConnections }
            let pool = PostgresPool(configuration: client, backgroundLogger: Self.logger)
            let running = Task { await pool.run() }
            defer { running.cancel() }
            try await body(pool)
        }
    }

    static func answer(_ pool: PostgresPool) async throws -> Int {
        var value = 0
        for try await number in try await pool.query("SELECT 7", logger: Self.logger).decode(Int.self) { value = number }
        return value
    }

    /// A statement prepared before its table exists.
    struct LateTableStatement: PostgresPreparedStatement {
        static let name = "test_late_table"
        static let sql = "SELECT n FROM late_table ORDER BY n"
        typealias Row = Int
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
    }

    /// postgres-nio answers every execution of a statement whose preparation failed with that
    /// failure, on the same connection; with one connection in the pool, only closing it lets
    /// the statement run once its table exists.
    @Test("a prepared statement whose preparation failed runs once its table exists: its connection was closed")
    func failedPreparation() async throws {
        try await Self.withPool(maximumConnections: 1) { pool in
            await #expect(throws: PSQLError.self) { try await pool.execute(LateTableStatement(), logger: Self.logger) }
            try await pool.query("CREATE TABLE late_table (n int)", logger: Self.logger)
            try await pool.query("INSERT INTO late_table VALUES (2), (1)", logger: Self.logger)
            let rows = try await pool.execute(LateTableStatement(), logger: Self.logger)
            #expect(rows == [1, 2])
        }
    }

    @Test("a connection closed under an unanswered statement: postgres_connection_lost within seconds; the next lease works")
    func connectionClosedUnderStatement() async throws {
        try await Self.withPool { pool in
            let before = try await Self.answer(pool)
            #expect(before == 7)
            let started = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) {
                try await pool.withConnection { connection in
                    _ = try await connection.close()
                    // The lost statement: nothing will ever answer it within the test.
                    try? await Task.sleep(for: .seconds(120))
                    return 0
                }
            }
            #expect(error?.code == .connectionLost)
            #expect(ContinuousClock.now - started < .seconds(30))
            let after = try await Self.answer(pool)
            #expect(after == 7)
        }
    }

    @Test("a cancelled caller leaves its transaction at once; its connection is closed, so no later lease gets that session")
    func cancelledTransaction() async throws {
        try await Self.withPool { pool in
            let backend = AsyncStream<Int32>.makeStream()
            let caller = Task {
                try await pool.withTransaction(logger: Self.logger) { connection in
                    for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: Self.logger).decode(Int32.self) {
                        backend.continuation.yield(pid)
                    }
                    try await connection.query("SELECT pg_sleep(60)", logger: Self.logger)
                    return 0
                }
            }
            var iterator = backend.stream.makeAsyncIterator()
            let pid = try #require(await iterator.next())
            let started = ContinuousClock.now
            caller.cancel()
            await #expect(throws: CancellationError.self) { try await caller.value }
            #expect(ContinuousClock.now - started < .seconds(10))
            // Its statement runs on in the server (PostgreSQL notices a gone client only between
            // statements), but on a closed connection: no later lease gets that session.
            let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            var mine: Int32 = 0
                            for try await pid in try await connection.query(
                                "SELECT pg_backend_pid() FROM pg_sleep(0.2)", logger: Self.logger).decode(Int32.self) { mine = pid }
                            return mine
                        }
                    }
                }
                return try await group.reduce(into: Set<Int32>()) { $0.insert($1) }
            }
            #expect(!pids.contains(pid), "a later lease got the abandoned session \(pid)")
            #expect(pids.count > 1)
            let after = try await Self.answer(pool)
            #expect(after == 7)
        }
    }
}
