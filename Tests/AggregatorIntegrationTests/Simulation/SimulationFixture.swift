import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestHarness
@testable import OutpostAggregator

/// The whole real path for `outpost-simulator`: PostgreSQL, the fleet CA with its
/// config endpoint, mosquitto configured by `broker-config` (TLS, client certificates, the
/// per-device ACL), and an aggregator ingesting in this process. The simulator and the
/// token command run as the built binaries, the way `make bench` and `make chaos` run them.
final class SimulationFixture: @unchecked Sendable {
    let broker: BrokerFixture
    let configPath: String
    private var aggregator: (group: ServiceGroup, task: Task<Void, any Error>)?

    var directory: TemporaryDirectory { broker.identity.directory }
    var serverURL: String { broker.identity.serverURL }

    private init(broker: BrokerFixture, configPath: String) {
        self.broker = broker
        self.configPath = configPath
    }

    static func withFixture(_ body: (SimulationFixture) async throws -> Void) async throws {
        let broker = try await BrokerFixture()
        let fixture: SimulationFixture
        do {
            fixture = SimulationFixture(broker: broker, configPath: try broker.identity.writeConfigurationFile())
            try await fixture.startAggregator()
        } catch {
            await broker.stop()
            throw error
        }
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    private func startAggregator() async throws {
        var configuration = broker.identity.configuration
        configuration.http.port = try FreePort.next()
        configuration.ingest.batchMaxDelayMs = 20
        configuration.devices.flushIntervalMs = 200
        configuration.readings.partitionsBehindDays = 1
        var logger = Logger(label: "aggregator")
        logger.logLevel = .warning
        let built = try buildAggregator(configuration: configuration, logger: logger)
        let group = built.serviceGroup(signals: false)
        aggregator = (group, Task { try await group.run() })
        try await waitUntil(timeout: .seconds(60), "schema ready") { built.readiness.isReady }
        try await waitUntil(timeout: .seconds(30), "aggregator connected to the broker") { built.broker.isConnected }
    }

    func stop() async {
        if let aggregator {
            await aggregator.group.triggerGracefulShutdown()
            _ = await aggregator.task.result
        }
        await broker.stop()
    }

    /// `outpost-simulator`: `$SIMULATOR_TEST_BINARY` when set (e.g. a release build), else the debug build.
    static func simulatorBinary() throws -> String {
        if let chosen = ProcessInfo.processInfo.environment["SIMULATOR_TEST_BINARY"] { return chosen }
        return try CommandRun.executable("outpost-simulator")
    }

    /// `outpost-aggregator token create --device-prefix PREFIX --count N --out FILE`.
    func createTokens(prefix: String, count: Int) async throws -> (file: String, run: CommandRun) {
        let file = directory.file("\(prefix)tokens.txt")
        let run = try await CommandRun.run(try CommandRun.executable("outpost-aggregator"), [
            "token", "create", "--config", configPath, "--device-prefix", prefix, "--count", "\(count)", "--ttl", "1h", "--out", file,
        ])
        return (file, run)
    }

    /// Starts `outpost-simulator` with the fixture's endpoint; output goes to `log`.
    func startSimulator(tokens: String, stateDir: String, extra: [String], log: String) throws -> ServerProcess {
        try ServerProcess(
            name: "outpost-simulator", executable: try Self.simulatorBinary(),
            arguments: ["--server", serverURL, "--tokens", tokens, "--state-dir", stateDir] + extra, logPath: log)
    }

    /// Waits (bounded) for `process` to exit by itself; returns its exit status.
    func exitStatus(of process: ServerProcess, timeout: Duration) async throws -> Int32 {
        try await waitUntil(timeout: timeout, "\(process.name) exit") { !process.isRunning }
        return (await process.stop() >> 8) & 0xff
    }

    func psql(_ sql: String) async throws -> String {
        try await broker.identity.postgres.psql(sql)
    }

    /// The contract's exactly-once check for one device, read from its buffer file and PostgreSQL:
    /// pending 0, dropped 0, and PostgreSQL holding exactly seqs 1…last_seq for (device, buffer).
    func checkExactlyOnce(stateDir: String, device: String) async throws -> BufferFile {
        let file = try await BufferFile.read(stateDir + "/" + device + "/buffer.db")
        let stored = try await psql(
            "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM readings "
                + "WHERE device = '\(device)' AND buffer = \(file.buffer)")
        let figures = stored.split(separator: "|").map { Int64($0) ?? -1 }
        #expect(file.pending == 0, "\(device): \(file.pending) readings pending")
        #expect(file.dropped == 0, "\(device): \(file.dropped) dropped")
        #expect(file.lastSeq > 0, "\(device) captured nothing")
        #expect(figures == [file.lastSeq, file.lastSeq, file.lastSeq > 0 ? 1 : 0, file.lastSeq], "\(device): count, distinct, min, max = \(figures)")
        return file
    }
}

/// A device buffer's figures, read from the SQLite file with the `sqlite3` tool (read-only),
/// as section 3 of the simulator contract describes.
struct BufferFile: Equatable {
    var buffer: Int64
    var dropped: Int64
    var lastSeq: Int64
    var pending: Int64

    static func read(_ path: String) async throws -> BufferFile {
        let sql = """
            SELECT (SELECT value FROM meta WHERE key = 'buffer_id'), coalesce((SELECT value FROM meta WHERE key = 'dropped'), 0),
                   coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'readings'), 0), (SELECT count(*) FROM readings);
            """
        let output = try await runTool(try locateTool("sqlite3"), ["-readonly", "-separator", "|", path, sql])
        let fields = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map { Int64($0) }
        guard fields.count == 4, let buffer = fields[0], let dropped = fields[1], let lastSeq = fields[2], let pending = fields[3] else {
            throw HarnessError("unexpected buffer figures from \(path): \(output)")
        }
        return BufferFile(buffer: buffer, dropped: dropped, lastSeq: lastSeq, pending: pending)
    }
}
