import Foundation
import LocalServers

/// The PostgreSQL failover campaign: the fleet of ``Campaign`` (simulators, an agent, two
/// aggregators, mosquitto) writing through HAProxy to a Patroni cluster (`ha/cluster.sh`: a
/// primary and a synchronous replica, TLS), and a `kill -9` of the leader's Patroni and
/// postmaster, once with the replica streaming and once with it lagging (its WAL receiver
/// stopped before the kill, resumed right after). For each: the ingest gap (kill to the
/// first commit on the new primary) and the drain (kill to every reading captured before
/// the kill stored). Then the killed node rejoins as a replica, everything catches up, and
/// the exactly-once invariant is checked as in ``Campaign``.
public final class FailoverCampaign {
    public let settings: CampaignSettings
    let reporter: Reporter
    private var faults: [FaultRecord] = []
    private var failures: [String] = []

    public init(settings: CampaignSettings, reporter: Reporter = Reporter()) {
        self.settings = settings
        self.reporter = reporter
    }

    /// The failovers run, in order: whether the replica lags at the kill.
    static let lagging = [false, true]

    public func run() async -> Int32 {
        let shape = settings.shape
        reporter.line("outpost-chaos --failover: Patroni (primary + synchronous replica, HAProxy, TLS); "
                      + "\(shape.simulators) simulator(s) × \(shape.devicesPerSimulator) devices at \(shape.rate)/s + \(shape.agents) agent(s), "
                      + "\(shape.aggregators) aggregators; failovers: leader kill -9 with the replica streaming, then lagging")
        let work: String
        do {
            work = try settings.workDirectory ?? TemporaryDirectory(prefix: "outpost-chaos-failover").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            reporter.line("cannot create a work directory: \(error)")
            return 2
        }
        reporter.line("work directory \(work) (logs in \(work)/logs, cluster in \(work)/ha)")
        let cluster: PatroniCluster
        do {
            cluster = try await PatroniCluster(directory: "\(work)/ha", script: "\(settings.sourceRoot)/ha/cluster.sh")
        } catch {
            reporter.line("set-up failed: Patroni cluster: \(error)")
            reporter.plain("0 passed, 1 failed")
            return 1
        }
        let database = PatroniDatabase(cluster: cluster)
        reporter.line("Patroni cluster up: leader \((try? await cluster.leader()) ?? "?"), writes through HAProxy on 127.0.0.1:\(cluster.primaryPort)")
        let fleet: Fleet
        do {
            fleet = try await Fleet.create(
                work: work, binaries: .init(directory: settings.binDirectory),
                shape: shape, drainTimeoutSeconds: settings.drainTimeoutSeconds, reporter: reporter, database: database)
            try await fleet.bringUp(sourceRoot: settings.sourceRoot, captureSeconds: settings.captureSeconds)
            reporter.line("fleet up: \(fleet.allDevices.count) devices in \(fleet.devices.count) device processes")
            try await fleet.waitUntilStreaming(timeout: .seconds(settings.streamingSeconds))
            reporter.line("every device has readings stored; failovers begin")
        } catch {
            reporter.line("set-up failed: \(error)")
            await cluster.stop()
            reporter.line("kept \(work) for inspection")
            reporter.plain("0 passed, 1 failed")
            return 1
        }

        for (index, lagging) in Self.lagging.enumerated() {
            do {
                try await failover(number: index + 1, lagging: lagging, fleet: fleet, cluster: cluster)
            } catch {
                failures.append("failover \(index + 1): \(error)")
                reporter.line("failover \(index + 1) FAILED: \(error)")
                break
            }
        }

        do {
            reporter.line("failovers over; catching up (bounded \(settings.catchUpSeconds) s)")
            let caughtUp = try await fleet.catchUp(until: .now + .seconds(settings.catchUpSeconds))
            reporter.line(caughtUp ? "caught up" : "catch-up did NOT finish in \(settings.catchUpSeconds) s")
        } catch {
            reporter.line("catch-up failed: \(error)")
        }
        let passed = await check(fleet)
        await fleet.stopAll()
        if passed && !settings.keep && settings.workDirectory == nil {
            try? FileManager.default.removeItem(atPath: work)
        } else {
            reporter.line("kept \(work) for inspection")
        }
        return passed ? 0 : 1
    }

    /// One failover: (stall the replica,) kill the leader, (resume the replica,) measure the
    /// gap and the drain, bring the killed node back as a replica.
    private func failover(number: Int, lagging: Bool, fleet: Fleet, cluster: PatroniCluster) async throws {
        try await Task.sleep(for: .seconds(3))
        record(try await fleet.reviveUnexpectedExits())
        if lagging {
            try await cluster.freezeReplica()
            reporter.line("failover \(number): replica's WAL receiver stopped; commits wait for it")
            try await Task.sleep(for: .seconds(3))
        }
        // What every device had captured at the kill: the drain ends once all of it is stored.
        let reader = BufferFileReader()
        let marks = try fleet.allDevices.map { device in (device.id, try reader.facts(device: device.id, path: device.bufferPath).lastSeq) }
        let leader = try await cluster.leader()
        let postmaster = cluster.postmasterPID(of: leader)
        let killedAt = ContinuousClock.now
        let killed = try await cluster.killLeader()
        var fault = FaultRecord(number: number, kind: .database, target: "patroni \(killed)\(lagging ? " (replica lagging)" : "")",
                                killedPID: postmaster, killedAt: reporter.elapsed)
        reporter.line("failover \(number): kill -9 of \(killed)'s Patroni and postmaster (pid \(postmaster.map(String.init) ?? "?"))")
        if lagging { try await cluster.thawReplica() }

        // The first commit on the new primary: its count of readings once it answers as a
        // primary (-1 from a node still in recovery), then a larger one.
        var firstCount: Int?
        try await waitUntil(timeout: .seconds(120), every: .milliseconds(200), "failover \(number): a commit on the new primary") {
            guard let count = try? await Self.count(cluster, "SELECT CASE WHEN pg_is_in_recovery() THEN -1 ELSE (SELECT count(*) FROM readings) END"),
                  count >= 0
            else { return false }
            guard let first = firstCount else {
                firstCount = count
                return false
            }
            return count > first
        }
        let gap = Reporter.seconds(.now - killedAt)
        let newLeader = (try? await cluster.leader()) ?? "?"
        let drainQuery = marks.filter { $0.1 > 0 }.map { "('\($0.0)', \($0.1)::bigint)" }.joined(separator: ", ")
        try await waitUntil(timeout: .seconds(180), every: .milliseconds(250), "failover \(number): readings captured before the kill stored") {
            guard !drainQuery.isEmpty else { return true }
            let short = try? await Self.count(cluster, """
                SELECT count(*) FROM (VALUES \(drainQuery)) AS m(device, mark)
                WHERE (SELECT count(DISTINCT seq) FROM readings r WHERE r.device = m.device AND r.seq <= m.mark) < m.mark
                """)
            return short == 0
        }
        let drain = Reporter.seconds(.now - killedAt)
        reporter.line("failover \(number): \(newLeader) leads; ingest gap \(Reporter.format(gap)) s (kill to the first commit on the new primary), "
                      + "drain \(Reporter.format(drain)) s (kill to every reading captured before it stored)")
        let began = ContinuousClock.now
        try await cluster.startNode(killed)
        try await cluster.waitStreaming()
        fault.restartedPID = cluster.postmasterPID(of: killed)
        fault.restartedAt = reporter.elapsed
        faults.append(fault)
        reporter.line("  \(killed) rejoined as a streaming replica after \(Reporter.format(Reporter.seconds(.now - began))) s")
    }

    private static func count(_ cluster: PatroniCluster, _ sql: String) async throws -> Int {
        let output = try await cluster.psql(sql)
        guard let value = Int(output) else { throw ChaosError(.unexpectedOutput, "\(sql.prefix(60)): \(output.prefix(100))") }
        return value
    }

    private func record(_ exits: [UnexpectedExit]) {
        for exit in exits {
            failures.append("unexpected exit: \(exit.name) (\(exit.status))")
            reporter.line("UNEXPECTED: \(exit.name) ended on its own (\(exit.status)); restarted")
        }
    }

    private func check(_ fleet: Fleet) async -> Bool {
        let observations = fleet.observations()
        let verdicts: [DeviceVerdict]
        do {
            verdicts = InvariantChecker().verdicts(observations: observations, stored: try await fleet.storedCounts(for: observations))
        } catch {
            reporter.line("cannot read PostgreSQL's counts: \(error)")
            reporter.plain("0 passed, \(observations.count + 1) failed")
            return false
        }
        let summary = CampaignSummary(verdicts: verdicts, faults: faults, unexpectedExits: [], restartFailures: failures,
                                      wallSeconds: reporter.elapsed)
        for line in summary.lines { reporter.plain(line) }
        return summary.failed == 0
    }
}
