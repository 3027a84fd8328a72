import ArgumentParser
import ChaosCampaign
import Dispatch
import Foundation

/// `outpost-chaos`: the bounded fault campaign behind `make chaos` (docs/chaos.md).
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-chaos",
        abstract: "kill -9 agents, aggregators, mosquitto and PostgreSQL at random while devices stream; then check that every captured reading is stored exactly once.")

    @Flag(help: "About 2 minutes instead of 10 (what `make test` runs).") var quick = false
    @Option(help: "Seed of the fault schedule; printed by every run, so a run can be replayed.") var seed: UInt64?
    @Option(help: "Seconds of faults (default 600, or 75 with --quick).") var window: Int?
    @Option(help: "Simulator processes.") var simulators: Int?
    @Option(help: "Devices per simulator.") var devicesPerSimulator: Int?
    @Option(help: "Real `outpost-agent run` devices.") var agents: Int?
    @Option(help: "Readings per second per simulated device.") var rate: Double?
    @Option(help: "Independent mosquitto brokers, devices spread over them (default 1).") var brokers: Int?
    @Option(help: "Directory with outpost-agent, outpost-simulator and outpost-aggregator (default: this executable's).") var binDir: String?
    @Option(help: "The source checkout, for Aggregator/Migrations (default: the current directory).") var sourceRoot: String?
    @Option(help: "Work directory for the fleet's files and logs (default: a fresh temporary one, removed on success).")
    var workDir: String?
    @Flag(help: "Keep the work directory even when every check passes.") var keep = false
    @Flag(help: "The PostgreSQL failover campaign instead: a Patroni cluster, the leader killed with the replica streaming, then lagging.")
    var failover = false

    func validate() throws {
        if let window, window < 10 { throw ValidationError("--window must be at least 10 seconds") }
        if let simulators, simulators < 0 { throw ValidationError("--simulators must not be negative") }
        if let agents, agents < 0 { throw ValidationError("--agents must not be negative") }
        if let devicesPerSimulator, !(1...10_000).contains(devicesPerSimulator) { throw ValidationError("--devices-per-simulator: 1-10000") }
        if let rate, !(rate > 0 && rate <= 1_000) { throw ValidationError("--rate must be above 0 and at most 1000") }
        if let brokers, !(1...4).contains(brokers) { throw ValidationError("--brokers: 1-4") }
    }

    func run() async throws {
        let binDirectory = binDir ?? Self.executableDirectory()
        let root = sourceRoot ?? FileManager.default.currentDirectoryPath
        let seed = seed ?? SeededGenerator.randomSeed()
        var settings = failover ? CampaignSettings.failover(seed: seed, binDirectory: binDirectory, sourceRoot: root)
            : quick ? CampaignSettings.quick(seed: seed, binDirectory: binDirectory, sourceRoot: root)
            : CampaignSettings.full(seed: seed, binDirectory: binDirectory, sourceRoot: root)
        if let window { settings.windowSeconds = window }
        if let simulators { settings.shape.simulators = simulators }
        if let devicesPerSimulator { settings.shape.devicesPerSimulator = devicesPerSimulator }
        if let agents { settings.shape.agents = agents }
        if let rate { settings.shape.rate = rate }
        if let brokers { settings.shape.brokers = brokers }
        settings.workDirectory = workDir
        settings.keep = keep
        guard settings.shape.devices > 0 else { throw ValidationError("the fleet needs at least one device") }

        let signals = Self.endOnSignals()
        let watchdog = Self.watchdog(seconds: settings.wallTimeBoundSeconds)
        let status = failover ? await FailoverCampaign(settings: settings).run() : await Campaign(settings: settings).run()
        watchdog.cancel()
        signals.forEach { $0.cancel() }
        if status != 0 { throw ExitCode(status) }
    }

    private static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    /// SIGINT or SIGTERM: end every process the campaign started, by PID, and exit 130.
    private static func endOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let ended = ProcessRegistry.shared.killAll()
                FileHandle.standardError.write(Data("outpost-chaos: interrupted; killed \(ended.joined(separator: ", "))\n".utf8))
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
    }

    /// The hard bound on the run: past it, every process is killed and the run fails.
    private static func watchdog(seconds: Int) -> Task<Void, Never> {
        Task.detached {
            guard (try? await Task.sleep(for: .seconds(seconds))) != nil else { return }
            let ended = ProcessRegistry.shared.killAll()
            FileHandle.standardOutput.write(Data("""
                outpost-chaos: the run exceeded its bound of \(seconds) s; killed \(ended.joined(separator: ", "))
                0 passed, 1 failed

                """.utf8))
            Foundation.exit(2)
        }
    }
}
