import Foundation
import Logging
import OutpostCommon
import ServiceLifecycle

/// `outpost-agent simulate`: many simulated meters in one process, each on the real path
/// (its own enrollment, certificate, MQTT connection over TLS, SQLite buffer, and the
/// centre's end-to-end acks).
///
/// One ``ServiceGroup`` with SIGTERM and SIGINT as graceful signals runs, in start order:
/// every publisher, every buffer committer, the capture (every scheduler), and the
/// ``SimulationSupervisor``. Shutdown runs in reverse: capture stops, the buffers commit,
/// then every publisher says offline and disconnects, all at once.
public struct FleetSimulator: Sendable {
    public let options: SimulationOptions
    let logger: Logger

    public init(options: SimulationOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Enrolls what is not enrolled, runs the fleet, and returns the report (also written to `--report`).
    /// - Returns: the report and the exit status: 0 drained or interrupted, 3 drain timeout.
    public func run() async throws(SimulationError) -> (report: SimulationReport, exitStatus: Int32) {
        let tokens = try TokenFile.load(path: options.tokensFile)
        let count = options.devices ?? tokens.entries.count
        guard count <= tokens.entries.count else {
            throw SimulationError(.invalidArgument, "--devices \(count) but \(options.tokensFile) holds \(tokens.entries.count) tokens")
        }
        let entries = Array(tokens.entries.prefix(count))
        let enrollment = FleetEnrollment(server: options.server, stateDirectory: options.stateDirectory,
                                         concurrency: options.enrollConcurrency, logger: Logger.child(logger, "agent.simulate.enroll"))
        let enrolled = try await enrollment.enroll(entries)
        logger.notice("devices ready", metadata: ["enrolled": "\(enrolled.enrolled.count)", "already_enrolled": "\(enrolled.alreadyEnrolled.count)"])

        var devices: [SimulatedDevice] = []
        devices.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            devices.append(try SimulatedDevice(directory: enrollment.directory(of: entry.device), rate: options.rate,
                                               seed: UInt64(index + 1), logger: logger))
        }
        let capture = FleetCapture(schedulers: devices.map(\.scheduler))
        let supervisor = SimulationSupervisor(devices: devices, capture: capture, duration: options.duration,
                                              drainTimeout: options.drainTimeout, logger: Logger.child(logger, "agent.simulate"))
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: ConcurrentServices(name: "publishers", services: devices.map(\.publisher))),
                .init(service: ConcurrentServices(name: "committers", services: devices.map(\.committer))),
                .init(service: capture),
                .init(service: supervisor, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger.child(logger, "agent.lifecycle"))
        configuration.maximumGracefulShutdownDuration = .seconds(8)
        configuration.maximumCancellationDuration = .seconds(1)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            logger.error("simulation stopped with an error", metadata: ["error": "\(error)"])
        }
        var snapshots: [DeviceSnapshot] = []
        for device in devices { snapshots.append(await device.snapshot()) }
        let timing = supervisor.result
        let report = SimulationReport(snapshots: snapshots, timing: timing)
        if let reportFile = options.reportFile {
            do {
                try SecureFile.write(report.json + "\n", to: reportFile, mode: 0o644)
            } catch {
                logger.error("report not written", metadata: ["error": "\(error)"])
            }
        }
        return (report, timing.outcome == .drainTimeout ? 3 : 0)
    }
}
