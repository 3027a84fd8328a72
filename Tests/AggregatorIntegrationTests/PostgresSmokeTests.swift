import Logging
import PostgresNIO
import Testing
import TestHarness

@Suite("PostgreSQL through the harness", .timeLimit(.minutes(3)))
struct PostgresSmokeTests {
    @Test("a throwaway cluster accepts a connection, a table and a query")
    func connectCreateQuery() async throws {
        let directory = try TemporaryDirectory()
        let server = try await PostgresServer(directory: directory.path)
        do {
            let configuration = PostgresClient.Configuration(
                host: "127.0.0.1", port: server.port, username: server.user, password: nil, database: server.database, tls: .disable)
            let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test.postgres"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                try await client.query("CREATE TABLE smoke (id int PRIMARY KEY, name text NOT NULL)")
                for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
                    try await client.query("INSERT INTO smoke (id, name) VALUES (\(id), \(name))")
                }
                var names: [String] = []
                for try await (name) in try await client.query("SELECT name FROM smoke WHERE id >= \(2) ORDER BY id").decode(String.self) {
                    names.append(name)
                }
                #expect(names == ["two", "three"])
                group.cancelAll()
            }
            #expect(try await server.psql("SELECT count(*) FROM smoke") == "3")
        } catch {
            await server.stop()
            directory.remove()
            throw error
        }
        await server.stop()
        directory.remove()
    }
}
