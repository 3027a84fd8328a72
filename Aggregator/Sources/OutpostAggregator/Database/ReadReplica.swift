import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The read replica (`postgres.read_replica`) and where each read-only query goes.
///
/// Once a second it samples the primary's WAL position and the replica's replayed one
/// (``ReplicaStaleness``). ``reader`` hands out the replica's pool while its data is known
/// to be at most `max_staleness_ms` old, the primary's otherwise (replica unreachable, behind,
/// or not yet measured). A server at the replica's address that is not in recovery counts
/// only when it is the primary itself (``ReplicaStaleness``): after a failover it may be the
/// old, diverged primary. Only queries that need not read their own writes use it.
public final class ReadReplica: Service, Sendable {
    public let client: PostgresPool
    let primary: PostgresPool
    let limit: Duration
    let metrics: AggregatorMetrics?
    let logger: Logger
    private let staleness = Mutex(ReplicaStaleness())

    /// - Throws: ``StoreError`` when a `postgres.tls` file cannot be used.
    public init(settings: ReadReplicaSettings, primarySettings: PostgresSettings, primary: PostgresPool, metrics: AggregatorMetrics?,
                logger: Logger) throws(StoreError) {
        client = PostgresPool(configuration: try settings.connection(from: primarySettings).clientConfiguration(), backgroundLogger: logger)
        self.primary = primary
        limit = .milliseconds(settings.maxStalenessMs)
        self.metrics = metrics
        self.logger = logger
    }

    /// The pool a read-only query should use now.
    public var reader: PostgresPool {
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
    /// (``WriteDeadline`` closes a connection that does not answer) and timed when its
    /// question is sent: the server's answer is at least as new as that moment.
    func measure() async {
        await measure { [logger] client in try await Self.observe(client, logger) }
    }

    /// ``measure()`` with `observe` asking a pool's server (``observe(_:_:)``).
    func measure(_ observe: (PostgresPool) async throws -> ReplicaObservation?) async {
        let asked = ContinuousClock.now
        if case .primary(let server, let lsn)? = try? await observe(primary) {
            staleness.withLock { $0.primary(lsn: lsn, server: server, at: asked) }
        }
        let observed = ContinuousClock.now
        let observation = try? await observe(client)
        staleness.withLock { state in
            if let observation { state.replica(observation, at: observed) } else { state.unreachable() }
        }
        metrics?.replicaStaleness(bound)
    }

    /// Whether the server is in recovery, its cluster, its WAL position (replayed or
    /// current) and, not in recovery, its timeline (from the name of its current WAL file).
    static let observation: PostgresQuery = """
        SELECT recovering, (SELECT system_identifier FROM pg_control_system()),
               ((CASE WHEN recovering THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) - '0/0'::pg_lsn)::int8,
               CASE WHEN NOT recovering THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int8 END
        FROM pg_is_in_recovery() AS recovering
        """

    /// What `client`'s server says about itself (``observation``).
    static func observe(_ client: PostgresPool, _ logger: Logger) async throws -> ReplicaObservation? {
        try await WriteDeadline(.seconds(2)).run(client) { connection in
            for try await (recovering, system, lsn, timeline) in try await connection.query(observation, logger: logger)
                .decode((Bool, Int64, Int64?, Int64?).self)
            {
                if recovering { return .replaying(systemIdentifier: system, replayed: lsn.map { UInt64($0) }) }
                guard let lsn, let timeline else { return nil }
                return .primary(ServerIdentity(systemIdentifier: system, timeline: timeline), lsn: UInt64(lsn))
            }
            return nil
        }
    }
}
