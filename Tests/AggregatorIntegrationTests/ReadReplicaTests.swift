import Foundation
import Logging
import OutpostSupport
import PostgresNIO
import Testing
import TestHarness
@testable import OutpostAggregator

/// The read replica's staleness bound, without a database.
@Suite("Read replica staleness")
struct ReplicaStalenessTests {
    static let server = ServerIdentity(systemIdentifier: 7_100_000_000_000_000_001, timeline: 1)

    @Test("the bound is the age of the newest primary position the replica has replayed; unknown sends reads to the primary")
    func bound() {
        let t0 = ContinuousClock.now
        let server = Self.server
        var staleness = ReplicaStaleness()
        #expect(staleness.bound(at: t0) == nil)
        #expect(!staleness.allowsReplica(at: t0, limit: .seconds(5)))

        staleness.primary(lsn: 100, server: server, at: t0)
        staleness.primary(lsn: 200, server: server, at: t0 + .seconds(1))
        staleness.primary(lsn: 300, server: server, at: t0 + .seconds(2))
        // Replayed 250: it holds what the primary had at t0+1, not yet what it had at t0+2.
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 250), at: t0 + .seconds(2))
        #expect(staleness.bound(at: t0 + .seconds(2)) == .seconds(1))
        #expect(staleness.allowsReplica(at: t0 + .seconds(2), limit: .seconds(1)))
        // The bound grows with time until the next observation.
        #expect(staleness.bound(at: t0 + .seconds(7)) == .seconds(6))
        #expect(!staleness.allowsReplica(at: t0 + .seconds(7), limit: .seconds(5)))

        // A replica stuck at 250 stays bounded by t0+1 however far the primary goes.
        staleness.primary(lsn: 900, server: server, at: t0 + .seconds(8))
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 250), at: t0 + .seconds(8))
        #expect(staleness.bound(at: t0 + .seconds(8)) == .seconds(7))

        // Caught up.
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 900), at: t0 + .seconds(9))
        #expect(staleness.bound(at: t0 + .seconds(9)) == .seconds(1))

        // Behind every sample kept, or nothing replayed yet: unknown.
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 50), at: t0 + .seconds(10))
        #expect(staleness.bound(at: t0 + .seconds(10)) == nil)
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 900), at: t0 + .seconds(10))
        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: nil), at: t0 + .seconds(10))
        #expect(staleness.bound(at: t0 + .seconds(10)) == nil)

        staleness.replica(.replaying(systemIdentifier: server.systemIdentifier, replayed: 900), at: t0 + .seconds(11))
        staleness.unreachable()
        #expect(staleness.bound(at: t0 + .seconds(11)) == nil)
        #expect(!staleness.allowsReplica(at: t0 + .seconds(11), limit: .seconds(60)))
    }

    @Test("a server not in recovery at the replica's address is fresh only when it is the primary itself; a replica of another cluster is never fresh")
    func notInRecovery() {
        let t0 = ContinuousClock.now
        let server = Self.server
        var staleness = ReplicaStaleness()
        // Nothing known of the primary yet: not even the primary itself can be recognised.
        staleness.replica(.primary(server, lsn: 500), at: t0)
        #expect(staleness.bound(at: t0) == nil)

        staleness.primary(lsn: 500, server: server, at: t0)
        // The same server (the replica port reached the primary): as fresh as the question.
        staleness.replica(.primary(server, lsn: 520), at: t0 + .milliseconds(10))
        #expect(staleness.bound(at: t0 + .milliseconds(10)) == .zero)
        #expect(staleness.allowsReplica(at: t0 + .milliseconds(10), limit: .seconds(1)))

        // The old primary after a failover: same cluster, the timeline it left, maybe further on in its own history.
        staleness.replica(.primary(ServerIdentity(systemIdentifier: server.systemIdentifier, timeline: 0), lsn: 9_000), at: t0 + .seconds(1))
        #expect(staleness.bound(at: t0 + .seconds(1)) == nil)
        #expect(!staleness.allowsReplica(at: t0 + .seconds(1), limit: .seconds(60)))

        // Another cluster, not in recovery or replaying: never fresh.
        staleness.replica(.primary(server, lsn: 520), at: t0 + .seconds(2))
        staleness.replica(.primary(ServerIdentity(systemIdentifier: 42, timeline: 1), lsn: 9_000), at: t0 + .seconds(2))
        #expect(staleness.bound(at: t0 + .seconds(2)) == nil)
        staleness.replica(.primary(server, lsn: 520), at: t0 + .seconds(2))
        staleness.replica(.replaying(systemIdentifier: 42, replayed: 9_000), at: t0 + .seconds(2))
        #expect(staleness.bound(at: t0 + .seconds(2)) == nil)

        // Same cluster and timeline but behind the primary's last sample: not the primary.
        staleness.replica(.primary(server, lsn: 499), at: t0 + .seconds(3))
        #expect(staleness.bound(at: t0 + .seconds(3)) == nil)
    }

    @Test("a new primary timeline (a failover) or cluster drops the samples of the old one")
    func timelineChangeClearsSamples() {
        let t0 = ContinuousClock.now
        let old = Self.server
        let promoted = ServerIdentity(systemIdentifier: old.systemIdentifier, timeline: 2)
        var staleness = ReplicaStaleness()
        staleness.primary(lsn: 500, server: old, at: t0)
        staleness.primary(lsn: 900, server: old, at: t0 + .seconds(1))
        staleness.replica(.replaying(systemIdentifier: old.systemIdentifier, replayed: 900), at: t0 + .seconds(1))
        #expect(staleness.bound(at: t0 + .seconds(1)) == .zero)

        // The promoted standby forked at 700; what the old primary had at 900 is not in its history.
        staleness.primary(lsn: 700, server: promoted, at: t0 + .seconds(3))
        #expect(staleness.bound(at: t0 + .seconds(3)) == nil, "nothing is known of the replica against the new primary")
        // A replica at 600 passed the old primary's t0 sample, which bounds nothing on the new timeline.
        staleness.replica(.replaying(systemIdentifier: old.systemIdentifier, replayed: 600), at: t0 + .seconds(3))
        #expect(staleness.bound(at: t0 + .seconds(3)) == nil)
        staleness.replica(.replaying(systemIdentifier: old.systemIdentifier, replayed: 710), at: t0 + .seconds(3))
        #expect(staleness.bound(at: t0 + .seconds(3)) == .zero)

        // Another cluster behind the primary's address: the same.
        staleness.primary(lsn: 800, server: ServerIdentity(systemIdentifier: 42, timeline: 1), at: t0 + .seconds(4))
        #expect(staleness.bound(at: t0 + .seconds(4)) == nil)
        staleness.replica(.replaying(systemIdentifier: old.systemIdentifier, replayed: 900), at: t0 + .seconds(4))
        #expect(staleness.bound(at: t0 + .seconds(4)) == nil)
    }

    @Test("a primary sample is timed when its question is sent: a slow answer makes the bound larger, never smaller")
    func sampleTimedAtQuestion() async throws {
        let primary = PostgresPool(configuration: try PostgresSettings().clientConfiguration(), backgroundLogger: Logger(label: "test"))
        let replica = try ReadReplica(settings: ReadReplicaSettings(port: 1), primarySettings: PostgresSettings(), primary: primary,
                                      metrics: nil, logger: Logger(label: "test"))
        let server = Self.server
        // The primary answers after 1.5 s; the replica at once, having replayed exactly what the primary reported.
        await replica.measure { client in
            if client.client === primary.client {
                try await Task.sleep(for: .milliseconds(1_500))
                return .primary(server, lsn: 4_000)
            }
            return .replaying(systemIdentifier: server.systemIdentifier, replayed: 4_000)
        }
        let bound = try #require(replica.bound)
        #expect(bound >= .milliseconds(1_500), "the primary may have committed up to 4000 only just before answering: \(bound)")
        #expect(bound < .seconds(60))
    }

    @Test("postgres.read_replica: defaults, bounds, and the primary's role, database and TLS")
    func settings() throws {
        let decoded = try JSONDecoder().decode(PostgresSettings.self, from: Data(#"{"readReplica": {"port": 15407}}"#.utf8))
        #expect(decoded.readReplica == ReadReplicaSettings(host: "127.0.0.1", port: 15407, maxStalenessMs: 5_000, maxConnections: 10))
        #expect(try JSONDecoder().decode(PostgresSettings.self, from: Data("{}".utf8)).readReplica == nil)
        #expect(throws: ConfigError(.invalidValue, key: "read_replica.max_staleness_ms", "")) {
            try JSONDecoder().decode(PostgresSettings.self, from: Data(#"{"readReplica": {"port": 1, "maxStalenessMs": 1}}"#.utf8))
        }
        #expect(throws: ConfigError(.invalidValue, key: "read_replica.port", "")) {
            try JSONDecoder().decode(PostgresSettings.self, from: Data(#"{"readReplica": {}}"#.utf8))
        }
        let primary = PostgresSettings(host: "db", port: 6432, username: "u", password: "p", database: "d",
                                       tls: PostgresTLSSettings(mode: .verifyFull, caFile: "/ca.pem"))
        let replica = ReadReplicaSettings(host: "replica", port: 6433, maxConnections: 4).connection(from: primary)
        #expect(replica.host == "replica" && replica.port == 6433 && replica.maxConnections == 4)
        #expect(replica.username == "u" && replica.password?.value == "p" && replica.database == "d" && replica.tls == primary.tls)
    }
}

/// `postgres.read_replica` on a Patroni cluster: readings queries go to HAProxy's replica
/// port while the replica is fresh, to the primary once it falls behind the bound.
@Suite("Read replica (Patroni)", .serialized, .timeLimit(.minutes(5)))
struct ReadReplicaTests {
    @Test("readings are read from the replica while it is within max_staleness_ms, from the primary once it lags past it")
    func routesByStaleness() async throws {
        try await PatroniFailoverTests.withCluster { fixture, cluster, configuration in
            var configuration = configuration
            configuration.postgres.readReplica = ReadReplicaSettings(port: cluster.replicaPort, maxStalenessMs: 2_000)
            let aggregator = try await fixture.startInProcess(configuration)
            let replica = try #require(aggregator.services.compactMap { $0 as? ReadReplica }.first)
            _ = try await cluster.psql("INSERT INTO devices (id) VALUES ('rr-1')")
            _ = try await cluster.psql("INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('rr-1', 1, 1, now(), 'power_w', 1)")
            let store = ReadingsStore(primary: aggregator.database.client, replica: replica, logger: Logger(label: "test"))
            let reads = { (target: String) in metricValue(aggregator.metrics.render(), "outpost_api_reads_total", ["target": target]) ?? -1 }

            try await waitUntil(timeout: .seconds(30), "the replica measured within its bound") { replica.reader.client === replica.client.client }
            let staleness = try #require(metricValue(aggregator.metrics.render(), "outpost_postgres_replica_staleness_seconds"))
            #expect(staleness >= 0 && staleness <= 2)
            let before = reads("replica")
            #expect(try await store.latest(device: "rr-1").map(\.value) == [1])
            #expect(reads("replica") == before + 1)

            // The replica stops replaying; a commit that needs no standby moves the primary on.
            try await cluster.freezeReplica()
            _ = try await cluster.psql("""
                    SET synchronous_commit = local;
                    INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('rr-1', 1, 2, now() + interval '1 second', 'power_w', 2)
                    """)
            try await waitUntil(timeout: .seconds(30), "reads sent to the primary") { replica.reader.client === aggregator.database.client.client }
            let primaryBefore = reads("primary")
            #expect(try await store.latest(device: "rr-1").map(\.value) == [2], "the primary has the newest reading")
            #expect(reads("primary") == primaryBefore + 1)
            #expect(try await cluster.psql("SELECT max(value) FROM readings", port: cluster.replicaPort) == "1",
                    "the replica does not have it yet")

            try await cluster.thawReplica()
            try await waitUntil(timeout: .seconds(30), "back on the replica") { replica.reader.client === replica.client.client }
            #expect(try await store.latest(device: "rr-1").map(\.value) == [2])
        }
    }
}

/// What the replica's address reaches, against real servers: the primary itself, or another
/// cluster that is not in recovery (as the old primary is after a failover).
@Suite("Read replica identity", .serialized, .timeLimit(.minutes(3)))
struct ReadReplicaIdentityTests {
    /// Whether reads go to a replica at `port` after two measurements.
    static func usesReplica(_ settings: PostgresSettings, port: Int) async throws -> (fresh: Bool, bound: Duration?) {
        let logger = Logger(label: "test.replica-identity")
        let primary = PostgresPool(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        let replica = try ReadReplica(settings: ReadReplicaSettings(port: port), primarySettings: settings, primary: primary,
                                      metrics: nil, logger: logger)
        let pools = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await primary.run() }
                group.addTask { await replica.client.run() }
            }
        }
        defer { pools.cancel() }
        await replica.measure()
        await replica.measure()
        return (replica.reader.client === replica.client.client, replica.bound)
    }

    @Test("the primary's own address is fresh; another cluster not in recovery is not, and reads go to the primary")
    func identity() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let settings = try await fixture.configuration().postgres
            let same = try await Self.usesReplica(settings, port: fixture.postgres.port)
            #expect(same.fresh, "the same server is as fresh as the primary")
            #expect(same.bound.map { $0 < .seconds(5) } == true)

            let other = try await PostgresServer(directory: fixture.directory.file("other-cluster"))
            let elsewhere: (fresh: Bool, bound: Duration?)
            do {
                elsewhere = try await Self.usesReplica(settings, port: other.port)
            } catch {
                await other.stop()
                throw error
            }
            await other.stop()
            #expect(!elsewhere.fresh, "a primary of another cluster is not a fresh replica")
            #expect(elsewhere.bound == nil)
        }
    }
}
