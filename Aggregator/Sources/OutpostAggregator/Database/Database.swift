import Logging
import PostgresNIO
import ServiceLifecycle

/// The aggregator's PostgreSQL connection pool, run as a service.
///
/// Everything that talks to PostgreSQL borrows from ``client``; the pool reconnects by
/// itself when the server restarts. The aggregator keeps no state of its own beyond it.
public struct Database: Service {
    public let client: PostgresClient
    public let logger: Logger

    public init(settings: PostgresSettings, logger: Logger) {
        self.client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the pool until the task is cancelled or the service group shuts down.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await client.run()
        }
    }

    /// True when a trivial query answers; for `/health`.
    public func isReachable() async -> Bool {
        do {
            for try await _ in try await client.query("SELECT 1", logger: logger) {}
            return true
        } catch {
            return false
        }
    }
}
