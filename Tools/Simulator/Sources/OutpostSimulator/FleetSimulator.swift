#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostSupport
import OutpostAgent
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `outpost-simulator`: many simulated meters in one process, each on the real path
/// (its own enrollment, certificate, MQTT connection over TLS, SQLite buffer, and the
/// centre's end-to-end acks).
///
/// One ``ServiceGroup`` with SIGTERM and SIGINT as graceful signals runs, in start order:
/// every command service, every publisher, every buffer committer, the capture (every
/// scheduler), and the ``SimulationSupervisor``. Shutdown runs in reverse: capture stops, the
/// buffers commit, then every publisher says offline and disconnects, all at once, and the
/// command services end with their publishers' last sessions.
public struct FleetSimulator: Sendable {
    public let options: SimulationOptions
    let logger: Logger

    public init(options: SimulationOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// A device holds 8 descriptors: its buffer's database, WAL and shared memory, its socket,
    /// libmosquitto's wake-up socket pair and the MQTT client's wake socket pair (measured before the
    /// pipe: 150 devices, 909 descriptors). Raise
    /// the soft `RLIMIT_NOFILE` towards the hard one when the fleet needs it, and refuse a fleet
    /// that cannot fit even then, instead of letting the last devices fail to open.
    static func ensureDescriptorRoom(devices: Int) throws(SimulationError) {
        let probe = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard probe >= 0 else { return }
        close(probe)
        let needed = rlim_t(Int(probe) + devices * 8 + 64)
        var limit = rlimit()
        guard getrlimit(descriptorLimit, &limit) == 0, limit.rlim_cur < needed else { return }
        if needed <= limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(descriptorLimit, &limit) == 0 { return }
        }
        let fits = max(0, (Int(min(limit.rlim_max, rlim_t(Int.max))) - Int(probe) - 64) / 8)
        throw SimulationError(.invalidArgument, "\(devices) devices need about \(needed) descriptors, but the limit is \(limit.rlim_max); "
            + "run at most \(fits) devices per process (`ulimit -n` raises it), or several simulators with their own token files and state directories")
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
        try Self.ensureDescriptorRoom(devices: devices.count)
        // `--duration 0s` drains only: no scheduler starts, so not one reading is captured (a
        // scheduler started and stopped at once could still take its first reading).
        let capture = FleetCapture(schedulers: options.duration == .zero ? [] : devices.map(\.scheduler))
        let supervisor = SimulationSupervisor(devices: devices, capture: capture, duration: options.duration,
                                              drainTimeout: options.drainTimeout, logger: Logger.child(logger, "agent.simulate"))
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: ConcurrentServices(name: "commands", services: devices.map(\.commandService))),
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

#if canImport(Glibc)
private let descriptorLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let descriptorLimit = RLIMIT_NOFILE
#endif
