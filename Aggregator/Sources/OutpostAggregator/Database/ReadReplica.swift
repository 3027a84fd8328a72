import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The read replica (`postgres.read_replica`) and where each read-only query goes.
///
/// Once a second it samples the primary's WAL position and the replica's replayed one
/// (``ReplicaStaleness``). ``reader`` hands out the replica's pool while its data is known
/// to be at most `max_staleness_ms` old, the primary's otherwise (replica unreachable, behind,
/// or not yet measured). Only queries that need not read their own writes use it.
public final class ReadReplica: Service, Sendable {
    public let client: PostgresClient
    let primary: PostgresClient
    let limit: Duration
    let metrics: AggregatorMetrics?
    let logger: Logger
    private let staleness = Mutex(ReplicaStaleness())

    /// - Throws: ``StoreError`` when a `postgres.tls` file cannot be used.
    public init(settings: ReadReplicaSettings, primarySettings: PostgresSettings, primary: PostgresClient, metrics: AggregatorMetrics?,
                logger: Logger) throws(StoreError) {
        client = PostgresClient(configuration: try settings.connection(from: primarySettings).clientConfiguration(), backgroundLogger: logger)
        self.primary = primary
        limit = .milliseconds(settings.maxStalenessMs)
        self.metrics = metrics
        self.logger = logger
    }

    /// The pool a read-only query should use now.
    public var reader: PostgresClient {
        let fresh = staleness.withLock { $0.allowsReplica(at: .now, limit: limit) }
        metrics?.read(onReplica: fresh)
        return fresh ? client : primary
    }

    /// At most how old the replica's data is now; nil when unknown.
    public var bound: Duration? { staleness.withLock { $0.bound(at: .now) } }

    /// Runs the replica's pool and the once-a-second measurement.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.client.run() }
                group.addTask {
                    while !Task.isCancelled {
                        await self.measure()
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// One sample of the primary, then one observation of the replica, each bounded to 2 s
    /// (``WriteDeadline`` closes a connection that does not answer).
    func measure() async {
        if let lsn = try? await Self.lsn(primary, "pg_current_wal_lsn()", logger) {
            let sampled = ContinuousClock.now
            staleness.withLock { $0.primary(lsn: lsn, at: sampled) }
        }
        let replayed: UInt64??
        do {
            replayed = .some(try await Self.lsn(client, "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() END", logger))
        } catch {
            replayed = nil
        }
        let now = ContinuousClock.now
        staleness.withLock { state in
            if let replayed { state.replica(replayed: replayed, at: now) } else { state.unreachable() }
        }
        metrics?.replicaStaleness(bound)
    }

    /// A WAL position in bytes, or nil when the expression is NULL.
    static func lsn(_ client: PostgresClient, _ expression: String, _ logger: Logger) async throws -> UInt64? {
        let query = PostgresQuery(unsafeSQL: "SELECT ((\(expression)) - '0/0'::pg_lsn)::int8")
        return try await WriteDeadline(.seconds(2)).run(client) { connection in
            for try await value in try await connection.query(query, logger: logger).decode(Int64?.self) {
                return value.map { UInt64($0) }
            }
            return nil
        }
    }
}
