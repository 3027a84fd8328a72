import Foundation
import LocalServers

/// One fault campaign: build the fleet, let it stream, kill -9 one process at a time
/// (by the seeded ``FaultSchedule``) and restart it after the planned delay, then let
/// everything catch up and check the exactly-once invariant for every device.
public final class Campaign {
    public let settings: CampaignSettings
    let reporter: Reporter
    private var faults: [FaultRecord] = []
    private var unexpectedExits: [UnexpectedExit] = []
    private var restartFailures: [String] = []

    public init(settings: CampaignSettings, reporter: Reporter = Reporter()) {
        self.settings = settings
        self.reporter = reporter
    }

    /// Runs the campaign and returns the process exit status: 0 when every check passed.
    public func run() async -> Int32 {
        let shape = settings.shape
        reporter.line("outpost-chaos: seed \(settings.seed) (replay: \(settings.reproduce))")
        reporter.line("""
            \(settings.quick ? "quick" : "full") campaign: \(settings.windowSeconds) s of faults; \
            \(shape.simulators) simulator(s) × \(shape.devicesPerSimulator) devices at \(shape.rate)/s + \(shape.agents) agent(s), \
            \(shape.aggregators) aggregators, \(shape.brokers > 1 ? "\(shape.brokers) mosquitto brokers" : "mosquitto"), PostgreSQL; wall-time bound \(settings.wallTimeBoundSeconds) s
            """)
        let work: String
        do {
            work = try settings.workDirectory ?? TemporaryDirectory(prefix: "outpost-chaos").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            reporter.line("cannot create a work directory: \(error)")
            return 2
        }
        reporter.line("work directory \(work) (logs in \(work)/logs)")

        let fleet: Fleet
        do {
            fleet = try await Fleet.create(
                work: work, binaries: .init(directory: settings.binDirectory),
                shape: shape, drainTimeoutSeconds: settings.drainTimeoutSeconds, reporter: reporter)
        } catch {
            reporter.line("set-up failed: PostgreSQL: \(error)")
            reporter.plain("0 passed, 1 failed")
            return 1
        }
        do {
            try await fleet.bringUp(sourceRoot: settings.sourceRoot, captureSeconds: settings.captureSeconds)
            reporter.line("fleet up: \(fleet.aggregators.map(\.name).joined(separator: ", ")), mosquitto on 127.0.0.1:\(([fleet.brokerPort] + fleet.extraBrokers.map(\.port)).map(String.init).joined(separator: ", ")), "
                          + "\(fleet.allDevices.count) devices in \(fleet.devices.count) device processes")
            try await fleet.waitUntilStreaming(timeout: .seconds(settings.streamingSeconds))
            reporter.line("every device has readings stored; faults begin")
        } catch {
            reporter.line("set-up failed: \(error)")
            await fleet.stopAll()
            reporter.line("kept \(work) for inspection")
            reporter.plain("0 passed, 1 failed")
            return 1
        }

        await injectFaults(fleet)
        var caughtUp = false
        do {
            let revived = try await fleet.reviveUnexpectedExits()
            record(revived)
            reporter.line("faults over; catching up (bounded \(settings.catchUpSeconds) s)")
            caughtUp = try await fleet.catchUp(until: .now + .seconds(settings.catchUpSeconds))
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

    // MARK: Faults

    private func injectFaults(_ fleet: Fleet) async {
        var schedule = FaultSchedule(seed: settings.seed, settings: settings.schedule)
        let windowEnds = ContinuousClock.now + .seconds(settings.windowSeconds)
        while true {
            let fault = schedule.next()
            let killAt = ContinuousClock.now + .milliseconds(Int(fault.gapSeconds * 1000))
            guard killAt + .milliseconds(Int(fault.restartDelaySeconds * 1000)) <= windowEnds else { break }
            do {
                // The gap: normal operation, watched for processes that die on their own.
                while ContinuousClock.now < killAt {
                    record(try await fleet.reviveUnexpectedExits())
                    try await Task.sleep(until: min(killAt, .now + .milliseconds(250)), clock: .continuous)
                }
                let name = fleet.name(of: fault.target)
                guard let victim = await fleet.kill(fault.target) else {
                    reporter.line("fault \(fault.number): \(name) is not running (finished); skipped")
                    continue
                }
                var record = FaultRecord(number: fault.number, kind: fault.target.kind, target: name, killedPID: victim.pid,
                                         killedAt: reporter.elapsed)
                reporter.line("fault \(fault.number): kill -9 \(name) (pid \(victim.pid)); restart in \(Reporter.format(fault.restartDelaySeconds)) s")
                // The planned outage itself, not a synchronisation.
                try await Task.sleep(for: .milliseconds(Int(fault.restartDelaySeconds * 1000)))
                let began = ContinuousClock.now
                do {
                    let pid = try await fleet.restart(fault.target)
                    record.restartedPID = pid
                    record.restartedAt = reporter.elapsed
                    reporter.line("  restarted \(name) (pid \(pid)), up after \(Reporter.format(Reporter.seconds(.now - began))) s")
                } catch {
                    restartFailures.append("\(name): \(error)")
                    reporter.line("  restart of \(name) FAILED: \(error)")
                }
                faults.append(record)
            } catch {
                restartFailures.append("during the fault window: \(error)")
                reporter.line("fault window interrupted: \(error)")
                return
            }
        }
    }

    private func record(_ exits: [UnexpectedExit]) {
        for exit in exits {
            unexpectedExits.append(exit)
            reporter.line("UNEXPECTED: \(exit.name) ended on its own (\(exit.status)); restarted")
        }
    }

    // MARK: The check

    /// Checks every device and the processes; prints the table, the counts and the closing line.
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
        let summary = CampaignSummary(verdicts: verdicts, faults: faults, unexpectedExits: unexpectedExits.map { "\($0.name) (\($0.status))" },
                                      restartFailures: restartFailures, wallSeconds: reporter.elapsed)
        for line in summary.lines { reporter.plain(line) }
        return summary.failed == 0
    }
}
