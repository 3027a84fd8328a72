import Foundation
import Logging
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// The aggregator on a Patroni cluster (ha/cluster.sh: etcd, a primary and a synchronous
/// replica, HAProxy) over verified TLS, with the leader killed under ingest.
@Suite("PostgreSQL failover (Patroni)", .serialized, .timeLimit(.minutes(9)))
struct PatroniFailoverTests {
    static let script = AggregatorFixture.packageRoot.appendingPathComponent("ha/cluster.sh").path

    /// The cluster outlives the fixture, so the aggregators shut down (draining ingest) while
    /// their database still answers; then the cluster is stopped by PID.
    static func withCluster(
        tweak: (inout AggregatorConfiguration) -> Void = { _ in },
        _ body: (AggregatorFixture, PatroniCluster, AggregatorConfiguration) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-ha")
        let cluster = try await PatroniCluster(directory: directory.file("cluster"), script: Self.script)
        do {
            try await AggregatorFixture.withFixture { fixture in
                let configuration = try await fixture.configuration { configuration in
                    configuration.postgres = PostgresSettings(
                        host: "127.0.0.1", port: cluster.primaryPort, username: "outpost", password: cluster.outpostPassword,
                        database: "outpost", tls: PostgresTLSSettings(mode: .verifyFull, caFile: cluster.caFile))
                    tweak(&configuration)
                }
                try await body(fixture, cluster, configuration)
            }
        } catch {
            print(await cluster.diagnostics())
            await cluster.stop()
            directory.remove()
            throw error
        }
        await cluster.stop()
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
            _ = try await cluster.psql("INSERT INTO devices (id) VALUES \(ids.map { "('\($0)')" }.joined(separator: ", "))")
            var devices: [TestDevice] = []
            for id in ids { devices.append(try await fixture.device(id, resendAfter: .seconds(2))) }
            let stored = { @Sendable () async -> Int in
                (try? await cluster.psql("SELECT count(*) FROM readings")).flatMap { Int($0) } ?? -1
            }
            var gap = Duration.zero
            var killed = ""
            try await CrashTests.stream(devices) {
                try await waitUntil(timeout: .seconds(60), "readings stored before the kill") { await stored() > 2_000 }
                let before = await stored()
                killed = try await cluster.killLeader()
                let killedAt = ContinuousClock.now
                try await waitUntil(timeout: .seconds(90), every: .milliseconds(200), "readings stored on the new primary") {
                    await stored() > before
                }
                gap = ContinuousClock.now - killedAt
                let after = await stored()
                try await waitUntil(timeout: .seconds(60), "ingest flowing on the new primary") { await stored() >= after + 2_000 }
            }
            let leader = try await cluster.leader()
            #expect(leader != killed)
            print("patroni failover: killed \(killed), \(leader) leads; first reading stored \(gap) after the kill")
            #expect(gap < .seconds(90))

            for device in devices {
                let line = try await cluster.psql("SELECT count(*), count(DISTINCT (buffer, seq)) FROM readings WHERE device = '\(device.id.rawValue)'")
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
            #expect(try await cluster.psql("SELECT count(*) FROM pg_class WHERE relname = 'readings_p\(day.replacing("-", with: ""))'") == "1")

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
                _ = try? await cluster.psql("SELECT pg_notify('outpost_events', '{\"failover\":1}')")
                return false
            }
            listener.cancel()
        }
    }

    /// Streams `devices` (50 readings every 50 ms each) while `faults` runs, then waits until
    /// every captured reading is acked. Bounded: at most 3 minutes of sending.
    static func stream(_ devices: [TestDevice], _ faults: () async throws -> Void) async throws {
        let done = Atomic<Bool>(false)
        let sender = Task {
            let started = ContinuousClock.now
            var round = 0
            while (round < 20 || !done.load(ordering: .relaxed)) && ContinuousClock.now - started < .seconds(180) {
                for device in devices { try await device.send(batches: 1, readings: 50) }
                try await Task.sleep(for: .milliseconds(50))
                round += 1
            }
        }
        do {
            try await faults()
        } catch {
            sender.cancel()
            throw error
        }
        done.store(true, ordering: .relaxed)
        try await sender.value
        for device in devices { try await device.waitAllAcked(timeout: .seconds(180)) }
    }

    /// The run that once hung for minutes: the synchronous replica's WAL receiver stalls, so
    /// every commit waits; the leader is killed; the replica resumes and is promoted. Twice in
    /// a row on one cluster. Each time: no ack while the replica is stalled, writes pass their
    /// deadline, `/health` says `ingest_stalled`, ingest resumes on the new primary, and every
    /// captured reading is stored exactly once.
    @Test("a stalled synchronous replica holds the acks back; kill -9 of the leader, twice: ingest recovers, every reading stored once")
    func stalledReplicaFailoverRepeated() async throws {
        try await Self.withCluster(tweak: { configuration in
            configuration.ingest.writeDeadlineMs = 3_000
            configuration.ingest.stallSeconds = 3
        }) { fixture, cluster, configuration in
            let aggregator = try await fixture.startInProcess(configuration)
            let ids = ["meter-s1", "meter-s2"]
            _ = try await cluster.psql("INSERT INTO devices (id) VALUES \(ids.map { "('\($0)')" }.joined(separator: ", "))")
            var devices: [TestDevice] = []
            for id in ids { devices.append(try await fixture.device(id, resendAfter: .seconds(2))) }
            let stored = { @Sendable () async -> Int in
                (try? await cluster.psql("SELECT count(*) FROM readings")).flatMap { Int($0) } ?? -1
            }
            var gaps: [Duration] = []
            for round in 1...2 {
                var killed = ""
                try await Self.stream(devices) {
                    let start = await stored()
                    try await waitUntil(timeout: .seconds(60), "round \(round): readings stored before the freeze") {
                        await stored() > start + 1_000
                    }
                    let deadlinesBefore = metricValue(aggregator.metrics.render(), "outpost_ingest_write_deadlines_total") ?? 0
                    try await cluster.freezeReplica()
                    // Commits now wait for the stalled replica: once the writes in flight have settled,
                    // no further reading is acked (or visible) while it stays stalled.
                    try await Task.sleep(for: .seconds(2))
                    let acked = devices.map(\.ackedCount), visible = await stored()
                    try await waitUntil(timeout: .seconds(30), "round \(round): /health reports the stall") {
                        aggregator.metrics.ingestStalled
                    }
                    try await waitUntil(timeout: .seconds(30), "round \(round): a write passes its deadline") {
                        (metricValue(aggregator.metrics.render(), "outpost_ingest_write_deadlines_total") ?? 0) > deadlinesBefore
                    }
                    #expect(devices.map(\.ackedCount) == acked, "round \(round): acks advanced while the synchronous replica was stalled")
                    #expect(await stored() == visible)
                    killed = try await cluster.killLeader()
                    let killedAt = ContinuousClock.now
                    try await cluster.thawReplica()
                    try await waitUntil(timeout: .seconds(120), every: .milliseconds(200), "round \(round): readings stored on the new primary") {
                        await stored() > visible
                    }
                    gaps.append(ContinuousClock.now - killedAt)
                    let after = await stored()
                    try await waitUntil(timeout: .seconds(60), "round \(round): ingest flowing on the new primary") { await stored() >= after + 1_000 }
                }
                let leader = try await cluster.leader()
                #expect(leader != killed)
                try await waitUntil(timeout: .seconds(30), "round \(round): the stall clears") { !aggregator.metrics.ingestStalled }
                try await cluster.startNode(killed)
                try await cluster.waitStreaming()
            }
            print("patroni stalled-replica failover ×2: first reading stored \(gaps) after the kill")
            for device in devices {
                let line = try await cluster.psql("SELECT count(*), count(DISTINCT (buffer, seq)) FROM readings WHERE device = '\(device.id.rawValue)'")
                let counts = line.split(separator: "|").compactMap { Int($0) }
                #expect(counts == [device.captured, device.captured], "\(device.id): stored \(line) of \(device.captured)")
            }
        }
    }
}
