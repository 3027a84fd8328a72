import Foundation
import Logging
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("PostgreSQL through the harness", .timeLimit(.minutes(3)))
struct PostgresSmokeTests {
    /// Runs `body` with a postgres-nio client of a throwaway cluster, and stops the cluster after.
    func withClient(_ body: (PostgresServer, PostgresClient) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer(directory: directory.path)
        do {
            let configuration = PostgresClient.Configuration(
                host: "127.0.0.1", port: server.port, username: server.user, password: nil, database: server.database, tls: .disable)
            let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test.postgres"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                try await body(server, client)
                group.cancelAll()
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("a throwaway cluster accepts a connection, a table and a query")
    func connectCreateQuery() async throws {
        try await withClient { server, client in
            try await client.query("CREATE TABLE smoke (id int PRIMARY KEY, name text NOT NULL)")
            for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
                try await client.query("INSERT INTO smoke (id, name) VALUES (\(id), \(name))")
            }
            var names: [String] = []
            for try await (name) in try await client.query("SELECT name FROM smoke WHERE id >= \(2) ORDER BY id").decode(String.self) {
                names.append(name)
            }
            #expect(names == ["two", "three"])
            #expect(try await server.psql("SELECT count(*) FROM smoke") == "3")
        }
    }

    @Test("RowCells reads a row's columns in order, each as its type, and names a missing column by its code")
    func rowCells() async throws {
        try await withClient { _, client in
            let rows = try await client.query(
                "SELECT 7::bigint, 2.5::float8, NULL::text, ARRAY['a','b'], 'epoch'::timestamptz + interval '1.5 seconds'")
            var read: [String] = []
            for try await row in rows {
                var cells = RowCells(row)
                read.append("\(try cells.next(Int64.self)) \(try cells.next(Double.self)) \(String(describing: try cells.next(String?.self)))")
                #expect(try cells.next([String].self) == ["a", "b"])
                #expect(try cells.next(Date.self) == Date(timeIntervalSince1970: 1.5))
                let error = #expect(throws: StoreError.self) { try cells.next(Int64.self) }
                #expect(error?.code == .unexpectedRow)
            }
            #expect(read == ["7 2.5 nil"])
        }
    }
}
