#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PostgresNIO
import ServiceLifecycle

/// Prepares the database and keeps the readings table's partitions in shape.
///
/// At start: applies pending migrations (under the runner's advisory lock, so several
/// aggregators may start at once), creates the partitions of ``PartitionPlan``, then
/// opens ``SchemaReadiness``. Every `maintenance_interval_seconds` after that: creates
/// the partitions ahead and drops those past retention, deletes audit rows and finished
/// commands past theirs, and dead recorders' media relays. PostgreSQL being down at start
/// is waited out with backoff; a migration that fails, or TLS that can never work
/// (``Database/probe()``), is fatal.
public struct SchemaService: Service {
    let database: Database
    let migrationsDirectory: String
    let settings: ReadingsSettings
    let readiness: SchemaReadiness
    let logger: Logger

    public init(database: Database, migrationsDirectory: String, settings: ReadingsSettings, readiness: SchemaReadiness,
                logger: Logger) {
        self.database = database
        self.migrationsDirectory = migrationsDirectory
        self.settings = settings
        self.readiness = readiness
        self.logger = logger
    }

    public func run() async throws {
        defer { readiness.fail() }
        let runner = MigrationRunner(client: database.client, directory: migrationsDirectory, logger: logger)
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await database.probe()
                try await runner.migrate()
                try await maintain(rollingUp: false)
                break
            } catch let error as StoreError where !PostgresPool.isTransient(error) {
                logger.critical("cannot prepare the schema", metadata: ["error": "\(error)"])
                throw error
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("database not ready; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
        readiness.open()
        logger.info("schema ready")
        await cancelWhenGracefulShutdown {
            do {
                try await backfillReadingHours()
            } catch {
                logger.error("rolling up readings partitions failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(settings.maintenanceIntervalSeconds))
                if Task.isCancelled { return }
                do {
                    try await maintain()
                } catch {
                    logger.error("partition maintenance failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
    }

    /// Creates missing partitions, applies retention and, when `rollingUp`, rolls up the
    /// partitions pending since migration 0170, once. Start leaves the roll-up until the schema
    /// is ready, so that ingest does not wait for it.
    public func maintain(today: Date = Date(), rollingUp: Bool = true) async throws {
        try await partitions(today: today)
        if rollingUp { try await backfillReadingHours() }
        let batch = Int64(Self.retentionBatch)
        let audit = try await deleteInBatches(days: settings.auditRetentionDays, today: today) { cutoff in
            AuditLog.retentionBatch(before: cutoff, limit: batch)
        }
        let commands = try await deleteInBatches(days: settings.commandRetentionDays, today: today) { cutoff in
            CommandsStore.retentionBatch(before: cutoff, limit: batch)
        }
        // Also where no aggregator records any more: a dead recorder's relay keeps its stream's key.
        let relays = try await MediaRelaysStore(client: database.client, logger: logger).sweepLapsed()
        if audit + commands + relays > 0 {
            logger.info("deleted rows past retention",
                        metadata: ["audit_log": "\(audit)", "commands": "\(commands)", "media_relays": "\(relays)"])
        }
    }

    /// Rows per retention `DELETE`, so that no statement holds its locks for long.
    static let retentionBatch = 10_000

    /// Runs the query (one batch older than the cutoff, answering how many rows it deleted) until
    /// a batch is short; 0 days: nothing.
    private func deleteInBatches(days: Int, today: Date, _ query: (Date) -> PostgresQuery) async throws -> Int {
        guard days > 0 else { return 0 }
        let cutoff = today.addingTimeInterval(-Double(days) * 86_400)
        var total = 0
        while true {
            var deleted = 0
            for try await count in try await database.client.query(query(cutoff), logger: logger, within: nil).decode(Int64.self) {
                deleted = Int(count)
            }
            total += deleted
            if deleted < Self.retentionBatch { return total }
        }
    }

    /// Creates the partitions of the plan and drops readings (and device events) past retention.
    private func partitions(today: Date) async throws {
        let plan = PartitionPlan(today: today, settings: settings)
        var created: [String] = []
        for day in plan.days {
            let rows = try await database.client.query(
                "SELECT outpost_ensure_readings_partition(\(day)::date)", logger: logger, within: nil).decode(Bool.self)
            for try await made in rows where made { created.append(day) }
        }
        if !created.isEmpty { logger.info("created readings partitions", metadata: ["days": "\(created)"]) }
        guard let horizon = plan.retentionHorizon else { return }
        var dropped: [String] = []
        for try await name in try await database.client.query(
            "SELECT outpost_drop_readings_before(\(horizon)::date)", logger: logger, within: nil).decode(String.self)
        {
            dropped.append(name)
        }
        try await DeviceEventsStore(client: database.client, logger: logger).deleteBefore(day: horizon)
        if !dropped.isEmpty { logger.info("dropped readings partitions past retention", metadata: ["partitions": "\(dropped)"]) }
        try await trimReadingHours(before: horizon)
    }

    /// Deletes the hourly rollup's hours before the retention horizon, in batches, each its own
    /// transaction and outside the one that dropped the partitions (which locks `readings`).
    private func trimReadingHours(before horizon: String) async throws {
        let batch = Self.retentionBatch
        while true {
            var deleted = 0
            for try await count in try await database.client.query(
                "SELECT outpost_trim_reading_hours(\(horizon)::date, \(batch))", logger: logger, within: nil).decode(Int64.self)
            {
                deleted = Int(count)
            }
            if deleted < batch { return }
        }
    }

    /// Rolls up the partitions stored before migration 0170, one per transaction, until none
    /// is due (`outpost_backfill_reading_hours`; today's partition waits for tomorrow).
    private func backfillReadingHours() async throws {
        while true {
            var done: String?
            for try await name in try await database.client.query(
                "SELECT outpost_backfill_reading_hours()", logger: logger, within: nil).decode(String?.self)
            {
                done = name
            }
            guard let done else { return }
            logger.info("rolled up a readings partition", metadata: ["partition": "\(done)"])
        }
    }
}
