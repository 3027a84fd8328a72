import Foundation
import Synchronization
import LocalServers

/// The database a fleet writes to: one PostgreSQL server (``Campaign``), or a Patroni
/// cluster behind HAProxy (``FailoverCampaign``).
protocol FleetDatabase: AnyObject, Sendable {
    /// The aggregators' `postgres` configuration section.
    var settings: [String: Any] { get }
    /// The process a `.database` fault kills.
    var pid: pid_t? { get async }
    var isRunning: Bool { get async }
    /// Runs SQL on the database the aggregators write to; `psql -At` output.
    func psql(_ sql: String) async throws -> String
    func crash() async
    func start() async throws
    func stop() async
}

extension PostgresServer: FleetDatabase {
    var settings: [String: Any] { ["host": "127.0.0.1", "port": port, "username": user, "database": database] }
}

/// A Patroni cluster (`ha/cluster.sh`: etcd, a primary and a synchronous replica, HAProxy)
/// as the fleet's database: the aggregators write through HAProxy's primary port over
/// `verify-full` TLS. A crash is a `kill -9` of the leader's Patroni and postmaster; a start
/// brings that node back as a replica and waits until it streams.
final class PatroniDatabase: FleetDatabase {
    let cluster: PatroniCluster
    private let killed = Mutex<String?>(nil)

    init(cluster: PatroniCluster) {
        self.cluster = cluster
    }

    var settings: [String: Any] {
        ["host": "127.0.0.1", "port": cluster.primaryPort, "username": "outpost", "password": cluster.outpostPassword,
         "database": "outpost", "tls": ["mode": "verify-full", "ca_file": cluster.caFile]]
    }

    /// The leader's postmaster.
    var pid: pid_t? {
        get async {
            guard let leader = try? await cluster.leader() else { return nil }
            return cluster.postmasterPID(of: leader)
        }
    }

    var isRunning: Bool {
        get async { (try? await cluster.leader()) != nil }
    }

    func psql(_ sql: String) async throws -> String { try await cluster.psql(sql) }

    func crash() async {
        let node = try? await cluster.killLeader()
        killed.withLock { $0 = node }
    }

    func start() async throws {
        guard let node = killed.withLock({ $0 }) else { return }
        try await cluster.startNode(node)
        try await cluster.waitStreaming()
        killed.withLock { $0 = nil }
    }

    func stop() async { await cluster.stop() }
}
