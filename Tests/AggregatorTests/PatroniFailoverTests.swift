import Foundation
import Logging
import OutpostCommon
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// The aggregator on a Patroni cluster (ha/cluster.sh: etcd, a primary and a synchronous
/// replica, HAProxy) over verified TLS, with the leader killed under ingest.
@Suite("PostgreSQL failover (Patroni)", .serialized, .timeLimit(.minutes(6)))
struct PatroniFailoverTests {
    static let script = AggregatorFixture.packageRoot.appendingPathComponent("ha/cluster.sh").path

    /// The cluster outlives the fixture, so the aggregators shut down (draining ingest) while
    /// their database still answers; then the cluster is stopped by PID.
    static func withCluster(_ body: (AggregatorFixture, PatroniCluster, AggregatorConfiguration) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-ha")
        // Bootstrapping takes 15-25 s of blocking tool runs: off the cooperative pool.
        let cluster = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try PatroniCluster(directory: directory.file("cluster"), script: Self.script) })
            }
        }
        do {
            try await AggregatorFixture.withFixture { fixture in
                let configuration = try fixture.configuration { configuration in
                    configuration.postgres = PostgresSettings(
                        host: "127.0.0.1", port: cluster.primaryPort, username: "outpost", password: cluster.outpostPassword,
                        database: "outpost", tls: PostgresTLSSettings(mode: .verifyFull, caFile: cluster.caFile))
                }
                try await body(fixture, cluster, configuration)
            }
        } catch {
            cluster.stop()
            directory.remove()
            throw error
        }
        cluster.stop()
        directory.remove()
    }

    @Test("verified TLS refuses a foreign CA; kill -9 of the leader under ingest: readings stored once, migrations, partitions, LISTEN work")
    func leaderKilledUnderIngest() async throws {
        try await Self.withCluster { fixture, cluster, configuration in
            var foreign = configuration.postgres
            foreign.tls.caFile = fixture.ca.certificateFile
            let started = ContinuousClock.now
            await #expect(throws: StoreError(.tlsUntrusted, "")) {
                try await Database(settings: foreign, logger: Logger(label: "test.patroni")).probe()
            }
            print("patroni: foreign CA refused after \(ContinuousClock.now - started)")
            let aggregator = try await fixture.startInProcess(configuration)
            let ids = ["meter-p1", "meter-p2"]
            _ = try await fixture.blocking { try cluster.psql("INSERT INTO devices (id) VALUES \(ids.map { "('\($0)')" }.joined(separator: ", "))") }
            var devices: [TestDevice] = []
            for id in ids { devices.append(try await fixture.device(id, resendAfter: .seconds(2))) }
            let stored = { @Sendable () async -> Int in
                (try? await fixture.blocking { try cluster.psql("SELECT count(*) FROM readings") }).flatMap { Int($0) } ?? -1
            }
            var gap = Duration.zero
            var killed = ""
            try await CrashTests.stream(devices) {
                try await waitUntil(timeout: .seconds(60), "readings stored before the kill") { await stored() > 2_000 }
                let before = await stored()
                killed = try await fixture.blocking { try cluster.killLeader() }
                let killedAt = ContinuousClock.now
                try await waitUntil(timeout: .seconds(90), every: .milliseconds(200), "readings stored on the new primary") {
                    await stored() > before
                }
                gap = ContinuousClock.now - killedAt
                let after = await stored()
                try await waitUntil(timeout: .seconds(60), "ingest flowing on the new primary") { await stored() >= after + 2_000 }
            }
            let leader = try await fixture.blocking { try cluster.leader() }
            #expect(leader != killed)
            print("patroni failover: killed \(killed), \(leader) leads; first reading stored \(gap) after the kill")
            #expect(gap < .seconds(90))

            for device in devices {
                let line = try await fixture.blocking {
                    try cluster.psql("SELECT count(*), count(DISTINCT (buffer, seq)) FROM readings WHERE device = '\(device.id.rawValue)'")
                }
                let counts = line.split(separator: "|").compactMap { Int($0) }
                #expect(counts == [device.captured, device.captured], "\(device.id): stored \(line) of \(device.captured)")
            }

            // Migrations (under their advisory lock) and partition maintenance on the new primary.
            let logger = Logger(label: "test.patroni")
            #expect(try await MigrationRunner(client: aggregator.database.client, directory: configuration.migrationsDir, logger: logger)
                .migrate().isEmpty)
            let ahead = Calendar(identifier: .gregorian).date(byAdding: .day, value: 20, to: Date())!
            try await SchemaService(database: aggregator.database, migrationsDirectory: configuration.migrationsDir,
                                    settings: configuration.readings, readiness: SchemaReadiness(), logger: logger).maintain(today: ahead)
            let day = ISO8601DateFormatter.string(from: ahead, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
            #expect(try await fixture.blocking {
                try cluster.psql("SELECT count(*) FROM pg_class WHERE relname = 'readings_p\(day.replacing("-", with: ""))'")
            } == "1")

            // The live-event listener re-listens on the new primary: a NOTIFY sent there arrives.
            let feed = try #require(aggregator.services.compactMap { $0 as? EventFeed }.first)
            let events = await feed.subscribe()
            let arrived = Atomic<Bool>(false)
            let listener = Task {
                for await payload in events where payload.contains("failover") {
                    arrived.store(true, ordering: .relaxed)
                    return
                }
            }
            // NOTIFYs sent before the listener's reconnect are lost (listeners re-sync), so send until one arrives.
            try await waitUntil(timeout: .seconds(60), every: .milliseconds(500), "a live event after the failover") {
                if arrived.load(ordering: .relaxed) { return true }
                _ = try? await fixture.blocking { try cluster.psql("SELECT pg_notify('outpost_events', '{\"failover\":1}')") }
                return false
            }
            listener.cancel()
        }
    }
}
