import ArgumentParser
import Logging
import OutpostSupport

extension AggregatorCommand {
    /// `outpost-aggregator migrate`: applies pending migrations and exits. Safe to run
    /// while aggregators are up or starting: the runner serialises on an advisory lock.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending database migrations, then exit.")

        @Option(help: "Configuration file.")
        var config: String = AggregatorConfiguration.defaultPath

        func run() async throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            configuration.logging.bootstrap()
            let logger = Logger(label: "aggregator.migrate")
            let database = try Database(settings: configuration.postgres, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                try await database.probe()
                let applied = try await MigrationRunner(client: database.client, directory: configuration.migrationsDir, logger: logger)
                    .migrate()
                print(applied.isEmpty ? "up to date" : "applied \(applied.map(String.init).joined(separator: ", "))")
            }
        }
    }
}
