import Foundation
import TestHarness
import LocalServers

/// The whole system on loopback, built from the real binaries: one PostgreSQL, mosquitto
/// with TLS, client certificates and the fleet ACL (its files written by
/// `outpost-aggregator broker-config`, so it trusts the aggregator's own CA), two
/// aggregators sharing the subscription, and device processes enrolled through the
/// config endpoint.
final class Fleet {
    /// `outpost-agent`, `outpost-simulator` and `outpost-aggregator`, from one directory.
    struct Binaries {
        var agent: String
        var simulator: String
        var aggregator: String

        init(directory: String) {
            agent = "\(directory)/outpost-agent"
            simulator = "\(directory)/outpost-simulator"
            aggregator = "\(directory)/outpost-aggregator"
        }
    }

    let work: String
    let binaries: Binaries
    let shape: FleetShape
    let reporter: Reporter
    let postgres: any FleetDatabase
    let brokerPort: Int
    let brokerConfig: String
    var broker: ServerProcess?
    /// Brokers `b`, `c`, … when the shape has more than one (the first is ``broker``).
    var extraBrokers: [ExtraBroker] = []
    var aggregators: [AggregatorNode] = []
    var devices: [DeviceProcess] = []
    /// Seconds a simulator waits for its buffers to drain after capture before giving up (exit 3).
    let drainTimeoutSeconds: Int

    /// Starts PostgreSQL (unless `database` is given: a Patroni cluster already running);
    /// ``bringUp(sourceRoot:captureSeconds:)`` builds and starts the rest.
    static func create(work: String, binaries: Binaries, shape: FleetShape, drainTimeoutSeconds: Int, reporter: Reporter,
                       database: (any FleetDatabase)? = nil) async throws -> Fleet {
        for directory in ["logs", "postgres", "aggregator", "mosquitto"] {
            try FileManager.default.createDirectory(atPath: "\(work)/\(directory)", withIntermediateDirectories: true)
        }
        // As root, PostgreSQL runs as `postgres`, which must reach its data directory.
        if geteuid() == 0 { chmod(work, 0o755) }
        let postgres: any FleetDatabase
        if let database {
            postgres = database
        } else {
            let server = try await PostgresServer(directory: "\(work)/postgres")
            if let pid = server.pid { ProcessRegistry.shared.record("postgres", pid) }
            reporter.line("postgres up on 127.0.0.1:\(server.port) (pid \(server.pid.map(String.init) ?? "?"))")
            postgres = server
        }
        return Fleet(work: work, binaries: binaries, shape: shape, reporter: reporter, postgres: postgres,
                     brokerPort: try FreePort.next(), drainTimeoutSeconds: drainTimeoutSeconds)
    }

    /// The aggregators' configuration and identity files, mosquitto, both aggregators, and
    /// every device, enrolled and capturing for `captureSeconds`.
    func bringUp(sourceRoot: String, captureSeconds: Int) async throws {
        try await setUpAggregators(sourceRoot: sourceRoot)
        try await startBroker()
        for index in extraBrokers.indices { try await startExtraBroker(index) }
        for node in aggregators { try await startAggregator(node) }
        try await enrollAndStartDevices(captureSeconds: captureSeconds)
    }

    private init(work: String, binaries: Binaries, shape: FleetShape, reporter: Reporter, postgres: any FleetDatabase, brokerPort: Int,
                 drainTimeoutSeconds: Int) {
        self.work = work
        self.binaries = binaries
        self.shape = shape
        self.reporter = reporter
        self.postgres = postgres
        self.brokerPort = brokerPort
        self.brokerConfig = "\(work)/aggregator/broker/mosquitto.conf"
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }

    var primary: AggregatorNode { aggregators[0] }
    var enrollURL: String { "https://127.0.0.1:\(primary.httpPort)" }
    var allDevices: [DeviceProcess.Device] { devices.flatMap(\.devices) }

    // MARK: Set-up

    /// Writes both aggregators' configurations, migrates, creates the CA, the HTTPS
    /// certificate, the broker's files (with the second aggregator in the ACL) and the
    /// second aggregator's client certificate.
    private func setUpAggregators(sourceRoot: String) async throws {
        let state = "\(work)/aggregator"
        let brokerDirectory = "\(state)/broker"
        let instances = (0..<shape.aggregators).map { "chaos-\(String(UnicodeScalar(UInt8(97 + $0))))" }
        extraBrokers = try (1..<max(1, shape.brokers)).map { try ExtraBroker(index: $0, work: work) }
        for (index, instance) in instances.enumerated() {
            let certificate = index == 0 ? "aggregator" : instance
            let node = AggregatorNode(instance: instance, configPath: "\(work)/\(instance).json", httpPort: try FreePort.next())
            let configuration: [String: Any] = [
                "instance_id": instance,
                "state_dir": state,
                "migrations_dir": "\(sourceRoot)/Aggregator/Migrations",
                "mqtt": ["host": "127.0.0.1", "port": brokerPort, "ca_file": "\(brokerDirectory)/ca.pem",
                         "cert_file": "\(brokerDirectory)/\(certificate).pem", "key_file": "\(brokerDirectory)/\(certificate).key"],
                "postgres": postgres.settings,
                "http": ["host": "127.0.0.1", "port": node.httpPort, "cert_file": "\(state)/https.pem", "key_file": "\(state)/https.key",
                         "client_ca_file": "\(state)/ca/ca.pem"],
                "identity": ["broker_dir": brokerDirectory, "broker_pid_file": "\(work)/mosquitto/mosquitto.pid",
                             "device_broker_host": "127.0.0.1", "device_broker_port": brokerPort],
                "logging": ["format": "json", "level": "info"],
            ].merging(brokersSection(brokerDirectory: brokerDirectory)) { $1 }
            let data = try JSONSerialization.data(withJSONObject: configuration, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: node.configPath))
            aggregators.append(node)
        }
        let config = ["--config", primary.configPath]
        try await aggregator(["migrate"] + config)
        try await aggregator(["ca", "init"] + config)
        try await aggregator(["ca", "server-cert"] + config + ["--ip", "127.0.0.1", "--dns", "localhost", "--cert-out", "\(state)/https.pem",
                                                         "--key-out", "\(state)/https.key"])
        let user = geteuid() == 0 ? "root" : (getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "nobody")
        try await aggregator(["broker-config"] + config + ["--out", brokerDirectory, "--listen", "127.0.0.1", "--port", "\(brokerPort)",
                                                     "--persistence-dir", "\(work)/mosquitto/", "--log-dest", "stderr", "--user", user]
                       + aggregators.dropFirst().flatMap { ["--service", "svc.aggregator.\($0.instance)"] })
        for extra in extraBrokers {
            try await aggregator(["broker-config"] + config + ["--broker", extra.name, "--out", extra.directory, "--listen", "127.0.0.1",
                                                         "--persistence-dir", "\(extra.directory)/", "--log-dest", "stderr", "--user", user]
                           + aggregators.dropFirst().flatMap { ["--service", "svc.aggregator.\($0.instance)"] })
        }
        for node in aggregators.dropFirst() {
            try await aggregator(["ca", "service-cert"] + config + ["--name", "svc.aggregator.\(node.instance)",
                                                             "--cert-out", "\(brokerDirectory)/\(node.instance).pem",
                                                             "--key-out", "\(brokerDirectory)/\(node.instance).key"])
        }
    }

    func startBroker() async throws {
        let process = try spawn("mosquitto", try locateTool("mosquitto"), ["-c", brokerConfig])
        broker = process
        try await waitUntil(timeout: .seconds(30), "mosquitto on 127.0.0.1:\(brokerPort)") { [brokerPort] in
            guard process.isRunning else { throw ChaosError(.restartFailed, "mosquitto exited; see logs/mosquitto.log") }
            return FreePort.isAccepting(brokerPort)
        }
    }

    func startAggregator(_ node: AggregatorNode) async throws {
        let process = try spawn(node.name, binaries.aggregator, ["serve", "--config", node.configPath])
        node.process = process
        try await waitUntil(timeout: .seconds(120), "\(node.name) serving on 127.0.0.1:\(node.httpPort)") { [port = node.httpPort] in
            guard process.isRunning else { throw ChaosError(.restartFailed, "\(node.name) exited; see logs/\(Self.logName(node.name)).log") }
            return FreePort.isAccepting(port)
        }
    }

    private func enrollAndStartDevices(captureSeconds: Int) async throws {
        let captureEnds = ContinuousClock.now + .seconds(captureSeconds)
        for index in 0..<shape.simulators {
            let directory = "\(work)/simulator-\(index + 1)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tokens = "\(directory)/tokens"
            try await aggregator(["token", "create", "--config", primary.configPath, "--device-prefix", shape.simulatorPrefix(index),
                            "--count", "\(shape.devicesPerSimulator)", "--ttl", "2h", "--out", tokens])
            let stateDirectory = "\(directory)/devices"
            let simulator = DeviceProcess(
                name: "simulator-\(index + 1)",
                role: .simulator(tokens: tokens, stateDirectory: stateDirectory, report: "\(directory)/report.json"),
                devices: shape.simulatedDevices(index).map { .init(id: $0, bufferPath: "\(stateDirectory)/\($0)/buffer.db") },
                captureEnds: captureEnds)
            devices.append(simulator)
            try startDevice(simulator)
        }
        for index in 0..<shape.agents {
            let device = shape.agentDevice(index)
            let directory = "\(work)/\(device)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let output = try await aggregator(["token", "create", "--config", primary.configPath, "--device", device, "--ttl", "2h"])
            guard let token = output.split(separator: "\n").first(where: { $0.hasPrefix("token: ") })?.dropFirst(7) else {
                throw ChaosError(.unexpectedOutput, "token create printed no token")
            }
            // `enroll` keeps what agent.json already holds and adds the identity and the broker.
            let settings: [String: Any] = [
                "state_dir": "\(directory)/state",
                "sources": [["type": "meter", "name": "meter", "interval_s": 1, "kind": "ac", "seed": index + 1]],
                "publisher": ["ack_timeout_s": 10],
                "logging": ["format": "json", "level": "info"],
            ]
            try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: "\(directory)/agent.json"))
            try await runTool(binaries.agent, ["enroll", "--server", enrollURL, "--token", String(token), "--config-dir", directory])
            var drain = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/agent.json")))
                as? [String: Any] ?? [:]
            drain["sources"] = [Any]()
            try JSONSerialization.data(withJSONObject: drain, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: "\(directory)/agent-drain.json"))
            let agent = DeviceProcess(
                name: "agent \(device)", role: .agent(config: "\(directory)/agent.json", drainConfig: "\(directory)/agent-drain.json"),
                devices: [.init(id: device, bufferPath: "\(directory)/state/buffer.db")], captureEnds: captureEnds)
            devices.append(agent)
            try startDevice(agent)
        }
    }

    /// Starts (or restarts) a device process: a simulator with the capture time that
    /// remains, an agent with its configuration.
    func startDevice(_ device: DeviceProcess, drain: Bool = false) throws {
        switch device.role {
        case .simulator(let tokens, let stateDirectory, let report):
            device.process = try spawn(device.name, binaries.simulator, [
                "--server", enrollURL, "--tokens", tokens, "--state-dir", stateDirectory,
                "--rate", "\(shape.rate)", "--duration", "\(device.remainingCaptureSeconds)s",
                "--drain-timeout", "\(drainTimeoutSeconds)s", "--report", report,
            ])
        case .agent(let config, let drainConfig):
            device.process = try spawn(device.name, binaries.agent, ["run", "--config", drain ? drainConfig : config])
        }
    }

    // MARK: Processes

    @discardableResult
    func aggregator(_ arguments: [String]) async throws -> String {
        try await runTool(binaries.aggregator, arguments)
    }

    /// Starts a process whose output goes to `logs/<name>.log` (appended across restarts)
    /// and records its PID for the interrupt handler.
    func spawn(_ name: String, _ executable: String, _ arguments: [String]) throws -> ServerProcess {
        let process = try ServerProcess(name: name, executable: executable, arguments: arguments,
                                        logPath: "\(work)/logs/\(Self.logName(name)).log")
        ProcessRegistry.shared.record(name, process.pid)
        return process
    }

    static func logName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }
}
