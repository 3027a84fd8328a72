import Foundation
import Logging
import OutpostCommon
import Testing
import TestHarness
@testable import OutpostAggregator

/// The read replica's staleness bound, without a database.
@Suite("Read replica staleness")
struct ReplicaStalenessTests {
    @Test("the bound is the age of the newest primary position the replica has replayed; unknown sends reads to the primary")
    func bound() {
        let t0 = ContinuousClock.now
        var staleness = ReplicaStaleness()
        #expect(staleness.bound(at: t0) == nil)
        #expect(!staleness.allowsReplica(at: t0, limit: .seconds(5)))

        staleness.primary(lsn: 100, at: t0)
        staleness.primary(lsn: 200, at: t0 + .seconds(1))
        staleness.primary(lsn: 300, at: t0 + .seconds(2))
        // Replayed 250: it holds what the primary had at t0+1, not yet what it had at t0+2.
        staleness.replica(replayed: 250, at: t0 + .seconds(2))
        #expect(staleness.bound(at: t0 + .seconds(2)) == .seconds(1))
        #expect(staleness.allowsReplica(at: t0 + .seconds(2), limit: .seconds(1)))
        // The bound grows with time until the next observation.
        #expect(staleness.bound(at: t0 + .seconds(7)) == .seconds(6))
        #expect(!staleness.allowsReplica(at: t0 + .seconds(7), limit: .seconds(5)))

        // A replica stuck at 250 stays bounded by t0+1 however far the primary goes.
        staleness.primary(lsn: 900, at: t0 + .seconds(8))
        staleness.replica(replayed: 250, at: t0 + .seconds(8))
        #expect(staleness.bound(at: t0 + .seconds(8)) == .seconds(7))

        // Caught up.
        staleness.replica(replayed: 900, at: t0 + .seconds(9))
        #expect(staleness.bound(at: t0 + .seconds(9)) == .seconds(1))

        // Behind every sample kept: unknown.
        staleness.replica(replayed: 50, at: t0 + .seconds(10))
        #expect(staleness.bound(at: t0 + .seconds(10)) == nil)

        // Not in recovery (the replica port reached a primary): as fresh as the observation.
        staleness.replica(replayed: nil, at: t0 + .seconds(11))
        #expect(staleness.bound(at: t0 + .seconds(11)) == .zero)

        staleness.unreachable()
        #expect(staleness.bound(at: t0 + .seconds(11)) == nil)
        #expect(!staleness.allowsReplica(at: t0 + .seconds(11), limit: .seconds(60)))
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
            _ = try await fixture.blocking { try cluster.psql("INSERT INTO devices (id) VALUES ('rr-1')") }
            _ = try await fixture.blocking {
                try cluster.psql("INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('rr-1', 1, 1, now(), 'power_w', 1)")
            }
            let store = ReadingsStore(primary: aggregator.database.client, replica: replica, logger: Logger(label: "test"))
            let reads = { (target: String) in metricValue(aggregator.metrics.render(), "outpost_api_reads_total", ["target": target]) ?? -1 }

            try await waitUntil(timeout: .seconds(30), "the replica measured within its bound") { replica.reader === replica.client }
            let staleness = try #require(metricValue(aggregator.metrics.render(), "outpost_postgres_replica_staleness_seconds"))
            #expect(staleness >= 0 && staleness <= 2)
            let before = reads("replica")
            #expect(try await store.latest(device: "rr-1").map(\.value) == [1])
            #expect(reads("replica") == before + 1)

            // The replica stops replaying; a commit that needs no standby moves the primary on.
            try await fixture.blocking { try cluster.freezeReplica() }
            _ = try await fixture.blocking {
                try cluster.psql("""
                    SET synchronous_commit = local;
                    INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('rr-1', 1, 2, now() + interval '1 second', 'power_w', 2)
                    """)
            }
            try await waitUntil(timeout: .seconds(30), "reads sent to the primary") { replica.reader === aggregator.database.client }
            let primaryBefore = reads("primary")
            #expect(try await store.latest(device: "rr-1").map(\.value) == [2], "the primary has the newest reading")
            #expect(reads("primary") == primaryBefore + 1)
            #expect(try await fixture.blocking { try cluster.psql("SELECT max(value) FROM readings", port: cluster.replicaPort) } == "1",
                    "the replica does not have it yet")

            try await fixture.blocking { try cluster.thawReplica() }
            try await waitUntil(timeout: .seconds(30), "back on the replica") { replica.reader === replica.client }
            #expect(try await store.latest(device: "rr-1").map(\.value) == [2])
        }
    }
}
