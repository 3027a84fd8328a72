import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import OutpostAgent
import OutpostAggregator
import OutpostSupport
import ServiceLifecycle
import TestHarness
import Testing

/// The whole system, for admin-API end-to-end tests: mosquitto started from the
/// configuration `broker-config` generates (TLS, client certificates, the ACL, the CRL),
/// PostgreSQL, the aggregator exactly as `serve` wires it (``buildAggregator(configuration:logger:routeProviders:metrics:)``,
/// with its CA, so revocation is real), real `outpost-agent run` processes enrolled through
/// the config endpoint, and an admin-API client checked against the served OpenAPI document.
final class FleetFixture: @unchecked Sendable {
    let broker: BrokerFixture
    let configuration: AggregatorConfiguration
    let aggregator: OutpostAggregator.Aggregator
    let http: HTTPClient
    let api: AdminAPIClient
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private var agents: [ServerProcess] = []

    private init(broker: BrokerFixture, configuration: AggregatorConfiguration, aggregator: OutpostAggregator.Aggregator, http: HTTPClient,
                 api: AdminAPIClient, group: ServiceGroup, running: Task<Void, any Error>) {
        self.broker = broker
        self.configuration = configuration
        self.aggregator = aggregator
        self.http = http
        self.api = api
        self.group = group
        self.running = running
    }

    /// - Parameter configure: changes to the aggregator's configuration before it starts.
    static func with(configure: (inout AggregatorConfiguration) -> Void = { _ in }, _ body: (FleetFixture) async throws -> Void) async throws {
        let broker = try await BrokerFixture()
        var configuration = broker.identity.configuration
        configure(&configuration)
        // The config endpoint of the broker fixture keeps its port; the aggregator gets its own.
        configuration.http.port = try FreePort.next()
        configuration.readings.partitionsBehindDays = 1
        var logger = Logger(label: "aggregator")
        logger.logLevel = .notice
        let aggregator: OutpostAggregator.Aggregator
        do {
            aggregator = try buildAggregator(configuration: configuration, logger: logger)
        } catch {
            await broker.stop()
            throw error
        }
        let group = aggregator.serviceGroup(signals: false)
        let running = Task { try await group.run() }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(broker.identity.caFile)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var fixture: FleetFixture?
        do {
            try await waitUntil(timeout: .seconds(60), "schema ready") { aggregator.readiness.isReady }
            try await waitUntil(timeout: .seconds(30), "aggregator connected to the broker") { aggregator.broker.isConnected }
            let api = try await AdminAPIClient.connect(http: http, baseURL: "https://127.0.0.1:\(configuration.http.port)")
            fixture = FleetFixture(broker: broker, configuration: configuration, aggregator: aggregator, http: http, api: api,
                                   group: group, running: running)
            try await body(fixture!)
        } catch {
            if let fixture { for agent in fixture.agents { print("--- \(agent.name) log (tail) ---\n\(agent.log.suffix(3_000))") } }
            print("--- mosquitto log (tail) ---\n\(broker.process.log.suffix(3_000))")
            await Self.tearDown(fixture?.agents ?? [], group: group, running: running, http: http, broker: broker)
            throw error
        }
        await Self.tearDown(fixture!.agents, group: group, running: running, http: http, broker: broker)
    }

    private static func tearDown(_ agents: [ServerProcess], group: ServiceGroup, running: Task<Void, any Error>, http: HTTPClient,
                                 broker: BrokerFixture) async {
        for agent in agents { await agent.crash() }
        // With the client's live-event streams still open: each must end at graceful shutdown
        // rather than hold the HTTP server until its 30 s limit.
        let stopping = ContinuousClock.now
        await group.triggerGracefulShutdown()
        _ = await running.result
        let stopped = ContinuousClock.now - stopping
        #expect(stopped < .seconds(20), "graceful shutdown took \(stopped) with live-event streams open")
        try? await http.shutdown()
        await broker.stop()
    }

    /// Stops the aggregator (graceful shutdown), leaving the broker, PostgreSQL and agents running.
    func stopAggregator() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    /// A second aggregator on the same PostgreSQL and broker (instance `a2`, its own HTTP
    /// port), as `serve` wires it, for `body`; stopped gracefully after it.
    func withSecondAggregator(configure: (inout AggregatorConfiguration) -> Void = { _ in },
                              _ body: (AdminAPIClient) async throws -> Void) async throws {
        var configuration = configuration
        configuration.instanceID = "a2"
        configuration.http.port = try FreePort.next()
        configure(&configuration)
        var logger = Logger(label: "aggregator-a2")
        logger.logLevel = .notice
        let second = try buildAggregator(configuration: configuration, logger: logger)
        let group = second.serviceGroup(signals: false)
        let running = Task { try await group.run() }
        let outcome: Result<Void, any Error>
        do {
            try await waitUntil(timeout: .seconds(60), "second aggregator ready") { second.readiness.isReady }
            try await body(try await AdminAPIClient.connect(http: http, baseURL: "https://127.0.0.1:\(configuration.http.port)"))
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        _ = await running.result
        try outcome.get()
    }

    /// An API key of `role`, made the way `outpost-aggregator` makes them.
    func apiKey(_ role: Role) async throws -> String {
        let client = broker.identity.database.client, logger = Logger(label: "test.fleet")
        return try await APIKeysStore(client: client, logger: logger)
            .create(name: "fleet test \(role)", role: role, expiresAt: Date().addingTimeInterval(3_600), origin: .cli(account: "test"),
                    audit: AuditLog(client: client, logger: logger)).secret
    }

    /// The `outpost-agent` binary: `$AGENT_TEST_BINARY` as in the agent's own tests, else the debug build.
    static func agentBinary() throws -> String {
        try ProcessInfo.processInfo.environment["AGENT_TEST_BINARY"] ?? CommandRun.executable("outpost-agent")
    }

    /// Enrolls `device` through the config endpoint and starts `outpost-agent run` with one
    /// meter source (and `streams`, for a camera), its state under the fixture's directory.
    func startAgent(_ device: String, streams: [String: StreamSource] = [:], logLevel: Logger.Level = .info) async throws -> ServerProcess {
        var agent = try await broker.enroll(device)
        agent.streams = streams
        agent.stateDir = broker.identity.directory.file("device-\(device)/state")
        var meter = SourceConfiguration(type: .meter, name: "meter", intervalS: 1)
        meter.kind = "ac"
        agent.sources = [meter]
        agent.logging = LoggingConfiguration(format: .json, level: logLevel)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configFile = broker.identity.directory.file("device-\(device)/run.json")
        try encoder.encode(agent).write(to: URL(fileURLWithPath: configFile))
        let process = try ServerProcess(name: "outpost-agent \(device)", executable: try Self.agentBinary(),
                                        arguments: ["run", "--config", configFile],
                                        logPath: broker.identity.directory.file("device-\(device)/agent.log"))
        agents.append(process)
        return process
    }
}
