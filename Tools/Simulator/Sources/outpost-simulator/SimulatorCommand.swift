import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostSupport
import OutpostSimulator
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `outpost-simulator`: a fleet of simulated meters on the real path, for load and fault tests.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-simulator",
        abstract: "Run many simulated meter devices in one process, each enrolled and connected like a real agent.",
        discussion: """
            Each device gets DIR/<device-id>/ with its agent.json, key, certificate and SQLite buffer. \
            After --duration capture stops and the simulator publishes until every buffer is empty, \
            then prints a one-line JSON summary. Exit status: 0 drained (or stopped by SIGTERM/SIGINT), \
            1 a device could not be enrolled or opened, 2 bad arguments, 3 --drain-timeout passed with readings pending.
            """,
        version: OutpostVersion.current)

    @Option(help: "The aggregator's config endpoint, e.g. https://aggregator.example.net:8443.") var server: String
    @Option(help: "Token file from `outpost-aggregator token create --device-prefix … --out FILE`.") var tokens: String
    @Option(help: "Each device lives in DIR/<device-id>/.") var stateDir: String
    @Option(help: "How many devices (the first N of the token file). Defaults to all.") var devices: Int?
    @Option(help: "Readings per second per device (fractions allowed).") var rate: Double = 1
    @Option(help: "How long capture runs, e.g. 30s, 5m; 0s drains only. Defaults to until SIGTERM.") var duration: String?
    @Option(help: "How long the drain may take before exit status 3.") var drainTimeout: String = "120s"
    @Option(help: "Write the JSON summary to this file too.") var report: String?
    @Option(help: "Enrollments in flight at once (1-64).") var enrollConcurrency: Int = 8
    @Option(help: "Log level on stderr (trace, debug, info, notice, warning, error, critical).") var logLevel: String = "warning"

    func run() async throws {
        let options: SimulationOptions
        let level: Logger.Level
        do {
            guard let parsedLevel = Logger.Level(rawValue: logLevel) else {
                throw SimulationError(.invalidArgument, "--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            level = parsedLevel
            var parsedDuration: Duration?
            if let duration {
                guard let value = SimulationOptions.parseDuration(duration) else {
                    throw SimulationError(.invalidArgument, "--duration: use e.g. 0s, 30s, 5m, 1h")
                }
                parsedDuration = value
            }
            guard let timeout = SimulationOptions.parseDuration(drainTimeout) else {
                throw SimulationError(.invalidArgument, "--drain-timeout: use e.g. 30s, 2m")
            }
            options = try SimulationOptions(
                server: server, tokensFile: tokens, stateDirectory: stateDir, devices: devices, rate: rate, duration: parsedDuration,
                drainTimeout: timeout, reportFile: report, enrollConcurrency: enrollConcurrency)
        } catch let error as SimulationError {
            fail(error)
        }
        LoggingConfiguration(format: .json, level: level).bootstrap()
        do {
            let (summary, status) = try await FleetSimulator(options: options, logger: Logger(label: "agent.simulate")).run()
            StandardStream.output.write(summary.json + "\n")
            if status != 0 { throw ExitCode(status) }
        } catch let error as SimulationError {
            fail(error)
        }
    }

    private func fail(_ error: SimulationError) -> Never {
        StandardStream.error.write("simulate failed: \(error)\n")
        Glibc.exit(error.code.exitStatus)
    }
}
