import Foundation
import OutpostSupport
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAgent

/// The real `outpost-agent` binary, run with a generated configuration.
final class AgentProcess: @unchecked Sendable {
    let directory: String
    let configFile: String
    private(set) var configuration: AgentConfiguration
    private(set) var process: ServerProcess?
    let logPath: String

    /// The binary beside the test bundle (`swift build --build-tests` builds every product),
    /// or `$AGENT_TEST_BINARY` (for example a release build, to measure it).
    static func binary() throws -> String {
        if let chosen = ProcessInfo.processInfo.environment["AGENT_TEST_BINARY"] { return chosen }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("outpost-agent").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/debug/outpost-agent")
                .standardized.path,
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("outpost-agent not built; run `swift build --build-tests` (looked in \(candidates))")
        }
        return found
    }

    init(directory: String, configuration: AgentConfiguration) throws {
        self.directory = directory
        self.configuration = configuration
        configFile = (directory as NSString).appendingPathComponent("agent.json")
        logPath = (directory as NSString).appendingPathComponent("agent.log")
        try write(configuration)
    }

    func write(_ configuration: AgentConfiguration) throws {
        self.configuration = configuration
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: URL(fileURLWithPath: configFile))
    }

    func start() throws {
        process = try ServerProcess(name: "outpost-agent", executable: try Self.binary(), arguments: ["run", "--config", configFile], logPath: logPath)
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// SIGTERM; returns the exit code and how long the exit took.
    func stop() async -> (exitCode: Int32, signalled: Bool, elapsed: Duration) {
        let started = ContinuousClock.now
        let status = await process?.stop(signal: SIGTERM, timeout: .seconds(15)) ?? 0
        return ((status >> 8) & 0xff, (status & 0x7f) != 0, started.duration(to: .now))
    }

    /// Waits (bounded) for the process to exit by itself; returns the exit code, or nil if it did not.
    func waitForExit(timeout: Duration) async throws -> Int32 {
        try await waitUntil(timeout: timeout, "agent exit") { !(self.process?.isRunning ?? false) }
        let status = await process?.stop() ?? 0
        return (status >> 8) & 0xff
    }

    func crash() async { await process?.crash() }

    /// Resident memory of the running agent, from /proc.
    func residentBytes() -> Int? {
        guard let pid = process?.pid, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kilobytes * 1024
    }

    /// Runs `outpost-agent status` with this configuration; returns its exit code and output.
    /// The run is waited for on a Dispatch thread, holding no thread of the cooperative pool.
    func runStatus(json: Bool = false) async throws -> (code: Int32, output: String) {
        let executable = try Self.binary()
        let arguments = ["status", "--config", configFile] + (json ? ["--json"] : [])
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = arguments
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    process.standardError = pipe
                    try process.run()
                    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    return (process.terminationStatus, output)
                })
            }
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func status() -> AgentStatus? { try? AgentStatus.read(stateDir: configuration.stateDir) }

    /// The buffer file as the agent left it (open only while the agent is stopped).
    func bufferContents() throws -> (stats: BufferStats, seqs: [Int64]) {
        let store = try ReadingStore.openForReading(path: configuration.bufferPath).store
        return (try store.stats(), try store.readings(after: 0, limit: 10_000_000).map(\.seq))
    }
}

/// A broker, its CA, the acking stand-in and agents, torn down however the test ends.
final class AgentFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let ca: TestCertificateAuthority
    let broker: MosquittoServer
    let aggregator: AckingAggregator
    let device: DeviceID
    let identity: TestCertificateAuthority.Identity
    private var agents: [AgentProcess] = []

    init(device: String = "meter-test", persistence: Bool = false) async throws {
        directory = try TemporaryDirectory(prefix: "outpost-agent")
        ca = try await TestCertificateAuthority(directory: directory.path)
        broker = try await MosquittoServer(
            directory: directory.path, ca: ca, options: .init(serviceIdentities: [AckingAggregator.identity], persistence: persistence))
        aggregator = try await AckingAggregator(broker: broker, ca: ca)
        self.device = DeviceID(device)!
        identity = try await ca.issueClient(device)
    }

    /// A configuration for the real binary: fast commits, short ack timeout, quick state.
    func configuration(sources: [SourceConfiguration], buffer: BufferSettings = BufferSettings(commitIntervalMs: 100),
                       publisher: PublisherSettings = PublisherSettings(batchSize: 1_000, window: 8, ackTimeoutS: 2, drainRate: 50_000, stateIntervalS: 5))
        -> AgentConfiguration
    {
        AgentConfiguration(
            deviceID: device, stateDir: directory.file("state"), mqtt: broker.settings(for: identity),
            logging: LoggingConfiguration(format: .json, level: .info), sources: sources, buffer: buffer, publisher: publisher)
    }

    func agent(_ configuration: AgentConfiguration) throws -> AgentProcess {
        let agent = try AgentProcess(directory: directory.path, configuration: configuration)
        agents.append(agent)
        return agent
    }

    func tearDown() async {
        for agent in agents { await agent.crash() }
        if let keep = ProcessInfo.processInfo.environment["AGENT_TEST_KEEP_LOGS"] {
            for agent in agents { try? agent.log.write(toFile: "\(keep)/\(device).log", atomically: true, encoding: .utf8) }
        }
        await aggregator.shutdown()
        await broker.stop()
        directory.remove()
    }

    static func with(device: String = "meter-test", persistence: Bool = false, _ body: (AgentFixture) async throws -> Void) async throws {
        let fixture = try await AgentFixture(device: device, persistence: persistence)
        do {
            try await body(fixture)
        } catch {
            for agent in fixture.agents { print("--- agent log (tail) ---\n\(agent.log.suffix(4_000))") }
            await fixture.tearDown()
            throw error
        }
        await fixture.tearDown()
    }
}

extension SourceConfiguration {
    static func meter(name: String = "meter", intervalS: Double, samplesPerCollect: Int = 1, kind: String = "ac") -> SourceConfiguration {
        var source = SourceConfiguration(type: .meter, name: name, intervalS: intervalS)
        source.kind = kind
        source.seed = 7
        source.samplesPerCollect = samplesPerCollect
        return source
    }

    static func exec(name: String, intervalS: Double, command: [String], timeoutS: Double = 1, maxOutputBytes: Int = 65_536) -> SourceConfiguration {
        var source = SourceConfiguration(type: .exec, name: name, intervalS: intervalS)
        source.command = command
        source.timeoutS = timeoutS
        source.maxOutputBytes = maxOutputBytes
        return source
    }
}
