import Foundation
import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
import ServiceLifecycle
import Synchronization
import TestHarness
import Testing
@testable import OutpostAggregator

/// A real broker, a real PostgreSQL, and aggregators (in-process through
/// ``buildAggregator(configuration:logger:routeProviders:metrics:)``, or as the
/// `outpost-aggregator` binary), all torn down however the test ends.
final class AggregatorFixture: @unchecked Sendable {
    static let instances = ["a1", "a2"]

    let directory: TemporaryDirectory
    let ca: TestCertificateAuthority
    let broker: MosquittoServer
    let postgres: PostgresServer
    let https: TestCertificateAuthority.Identity
    private var running: [(group: ServiceGroup, task: Task<Void, any Error>)] = []
    private var processes: [ServerProcess] = []
    private var devices: [TestDevice] = []

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init() async throws {
        directory = try TemporaryDirectory(prefix: "outpost-agg")
        ca = try await TestCertificateAuthority(directory: directory.path)
        broker = try await MosquittoServer(
            directory: directory.path, ca: ca,
            options: .init(serviceIdentities: Self.instances.map { "svc.aggregator.\($0)" }))
        postgres = try await PostgresServer(directory: directory.path)
        https = try await ca.issueServer()
    }

    static func withFixture(_ body: (AggregatorFixture) async throws -> Void) async throws {
        let fixture = try await AggregatorFixture()
        do {
            try await body(fixture)
        } catch {
            await fixture.tearDown()
            throw error
        }
        await fixture.tearDown()
    }

    func tearDown() async {
        for device in devices { await device.stop() }
        for (group, task) in running {
            await group.triggerGracefulShutdown()
            await Self.awaitStopped(task)
        }
        for process in processes { await process.crash() }
        await broker.stop()
        await postgres.stop()
        directory.remove()
    }

    /// A configuration for instance `instance` against this fixture's servers, tuned for quick tests.
    func configuration(_ instance: String = "a1", tweak: (inout AggregatorConfiguration) -> Void = { _ in }) async throws
        -> AggregatorConfiguration
    {
        let identity = try await ca.issueClient("svc.aggregator.\(instance)")
        var configuration = AggregatorConfiguration(
            instanceID: instance, stateDir: directory.file("state-\(instance)"),
            migrationsDir: Self.packageRoot.appendingPathComponent("Aggregator/Migrations").path,
            mqtt: broker.settings(for: identity),
            postgres: PostgresSettings(host: "127.0.0.1", port: postgres.port, username: postgres.user, database: postgres.database),
            http: HTTPSettings(host: "127.0.0.1", port: try FreePort.next(), certFile: https.certificateFile, keyFile: https.keyFile),
            logging: LoggingConfiguration(format: .text, level: .notice))
        configuration.mqtt.keepalive = 5
        configuration.ingest.batchMaxDelayMs = 20
        configuration.devices.flushIntervalMs = 100
        configuration.commands.pollIntervalMs = 100
        configuration.readings.partitionsBehindDays = 1
        tweak(&configuration)
        return configuration
    }

    /// Builds and runs an aggregator in this process; returns once its schema is ready.
    @discardableResult
    func startInProcess(_ configuration: AggregatorConfiguration) async throws -> OutpostAggregator.Aggregator {
        var logger = Logger(label: "aggregator")
        logger.logLevel = .notice
        let aggregator = try buildAggregator(configuration: configuration, logger: logger)
        let group = aggregator.serviceGroup(signals: false)
        running.append((group, Task { try await group.run() }))
        try await waitUntil(timeout: .seconds(60), "schema ready") { aggregator.readiness.isReady }
        try await waitUntil(timeout: .seconds(30), "aggregator connected to the broker") { aggregator.broker.isConnected }
        return aggregator
    }

    /// Shuts down the aggregators started by ``startInProcess(_:)`` (the first half of a restart).
    func stopInProcess() async {
        for (group, task) in running {
            await group.triggerGracefulShutdown()
            await Self.awaitStopped(task)
        }
        running.removeAll()
    }

    /// Waits for an in-process aggregator's group to end after ``triggerGracefulShutdown``
    /// (its graceful shutdown is bounded at 30 s). One still running after `limit` is cancelled
    /// and recorded as a failure, so that it fails its test instead of holding the whole run.
    static func awaitStopped(_ task: Task<Void, any Error>, limit: Duration = .seconds(90)) async {
        let once = ResumeOnce()
        let stopped = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            Task {
                _ = await task.result
                if once.claim() { continuation.resume(returning: true) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if once.claim() { continuation.resume(returning: false) }
            }
        }
        if !stopped {
            task.cancel()
            Issue.record("an in-process aggregator did not stop within \(limit) of its graceful shutdown; cancelled")
        }
    }

    /// Writes `configuration` as the JSON file `serve --config` reads.
    func writeConfiguration(_ configuration: AggregatorConfiguration) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = directory.file("aggregator-\(configuration.instanceID).json")
        try encoder.encode(configuration).write(to: URL(fileURLWithPath: path))
        return path
    }

    static var binary: String {
        get throws {
            for candidate in [".build/debug/outpost-aggregator", ".build/x86_64-unknown-linux-gnu/debug/outpost-aggregator"] {
                let path = packageRoot.appendingPathComponent(candidate).path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw HarnessError("outpost-aggregator is not built; run swift build --build-tests")
        }
    }

    /// Runs `outpost-aggregator` with `arguments` to completion.
    func runBinary(_ arguments: [String]) async throws -> String {
        let binary = try Self.binary
        return try await runTool(binary, arguments)
    }

    /// Runs SQL through psql.
    @discardableResult
    func psql(_ sql: String) async throws -> String {
        let postgres = postgres
        return try await postgres.psql(sql)
    }

    /// Starts `outpost-aggregator serve --config PATH`, waiting until it answers `/health`.
    func startBinary(configPath: String, configuration: AggregatorConfiguration) async throws -> ServerProcess {
        let process = try ServerProcess(
            name: "outpost-aggregator", executable: try Self.binary, arguments: ["serve", "--config", configPath],
            logPath: directory.file("aggregator-\(configuration.instanceID).log"))
        processes.append(process)
        try await waitUntil(timeout: .seconds(60), "aggregator \(configuration.instanceID) healthy") {
            guard process.isRunning else { throw HarnessError("aggregator exited: \(process.log.suffix(3_000))") }
            return (try? await self.https(configuration, "/health")).map { !$0.contains(#""status":"failing""#) } ?? false
        }
        return process
    }

    /// GET over HTTPS with curl, trusting the fixture's CA. Returns the body; throws on a non-2xx status.
    func https(_ configuration: AggregatorConfiguration, _ path: String) async throws -> String {
        let curl = try locateTool("curl"), caFile = ca.certificateFile
        return try await runTool(curl, [
            "-sS", "--fail-with-body", "--max-time", "10", "--cacert", caFile,
            "https://127.0.0.1:\(configuration.http.port)\(path)",
        ])
    }

    /// GET over HTTPS with curl whatever the status; returns the status code and the body.
    func httpsStatus(_ configuration: AggregatorConfiguration, _ path: String) async throws -> (status: Int, body: String) {
        let output = try await runTool(try locateTool("curl"), [
            "-sS", "--max-time", "10", "--cacert", ca.certificateFile, "-w", "\n%{http_code}",
            "https://127.0.0.1:\(configuration.http.port)\(path)",
        ])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// A presence service on the running aggregator's database, with its own recorder and metrics.
    func presenceService(_ aggregator: OutpostAggregator.Aggregator, recorder: PresenceRecorder, metrics: AggregatorMetrics,
                         flushIntervalMs: Int) -> PresenceService {
        PresenceService(
            recorder: recorder, store: DevicesStore(client: aggregator.database.client, logger: Logger(label: "test")),
            settings: DeviceSettings(flushIntervalMs: flushIntervalMs), readiness: aggregator.readiness, metrics: metrics,
            logger: Logger(label: "test"))
    }

    /// Enrolls devices the way identity does: a `devices` row each.
    func addDevices(_ ids: [String]) async throws {
        try await psql("INSERT INTO devices (id) VALUES \(ids.map { "('\($0)')" }.joined(separator: ", ")) ON CONFLICT DO NOTHING")
    }

    /// Starts a test device (its certificate issued here) on `broker`, by default the fixture's.
    func device(_ id: String, resendAfter: Duration = .seconds(3), onCommand: (@Sendable (Command) -> CommandResult?)? = nil,
                will: MQTTConfiguration.Will? = nil, broker: MosquittoServer? = nil) async throws -> TestDevice
    {
        let device = try await TestDevice(id, fixture: self, resendAfter: resendAfter, onCommand: onCommand, will: will, broker: broker)
        devices.append(device)
        try await device.start()
        return device
    }

    func count(_ sql: String) async throws -> Int { Int(try await psql(sql)) ?? -1 }

    /// Total and distinct-key counts of `readings` for `device`.
    func readingCounts(_ device: String) async throws -> (rows: Int, distinct: Int) {
        let line = try await psql(
            "SELECT count(*), count(DISTINCT (buffer, seq)) FROM readings WHERE device = '\(device)'")
        let parts = line.split(separator: "|").compactMap { Int($0) }
        return (parts.first ?? -1, parts.last ?? -1)
    }
}

/// Lets exactly one of several racing tasks resume a continuation.
private final class ResumeOnce: Sendable {
    private let claimed = Atomic<Bool>(false)

    func claim() -> Bool {
        !claimed.exchange(true, ordering: .sequentiallyConsistent)
    }
}
