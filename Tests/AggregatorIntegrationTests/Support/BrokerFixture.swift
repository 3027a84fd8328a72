import Foundation
import Logging
import OutpostAgent
import OutpostAggregator
import OutpostMQTT
import OutpostSupport
import Synchronization
import TestHarness

/// mosquitto started from the configuration `broker-config` generated, plus helpers to
/// enroll devices through the real config endpoint and to watch MQTT clients.
final class BrokerFixture: @unchecked Sendable {
    let identity: IdentityFixture
    let brokerPort: Int
    let process: ServerProcess
    let brokerDirectory: String
    /// The second broker (`b`) when asked for: then the configuration has `brokers` a and b.
    let second: (port: Int, process: ServerProcess, directory: String)?

    /// - Parameters:
    ///   - subscribeGuard: the `outpost_subscribe_guard` plugin to load, if any.
    ///   - secondBroker: also start broker `b` from its own `broker-config --broker b` output,
    ///     and configure `brokers` [a, b] (a being the first broker).
    init(certificateLifetime: Int = 30 * 86_400, subscribeGuard: String? = nil, secondBroker: Bool = false) async throws {
        brokerPort = try FreePort.next()
        identity = try await IdentityFixture(certificateLifetime: certificateLifetime)
        brokerDirectory = identity.directory.file("broker")
        // The aggregator's own broker settings: its generated client certificate.
        identity.configuration.mqtt = BrokerSettings(
            host: "127.0.0.1", port: brokerPort, caFile: brokerDirectory + "/ca.pem", certFile: brokerDirectory + "/aggregator.pem",
            keyFile: brokerDirectory + "/aggregator.key", keepalive: 10)
        identity.configuration.identity.brokerDir = brokerDirectory
        identity.configuration.identity.brokerPidFile = brokerDirectory + "/mosquitto.pid"
        identity.configuration.identity.deviceBrokerPort = brokerPort
        process = try await Self.startBroker(identity, port: brokerPort, directory: brokerDirectory, subscribeGuard: subscribeGuard)
        if secondBroker {
            let port = try FreePort.next(), directory = identity.directory.file("broker-b")
            identity.configuration.brokers = [
                BrokerEndpoint(name: "a", host: "127.0.0.1", port: brokerPort, brokerDir: brokerDirectory, pidFile: brokerDirectory + "/mosquitto.pid"),
                BrokerEndpoint(name: "b", host: "127.0.0.1", port: port, brokerDir: directory, pidFile: directory + "/mosquitto.pid"),
            ]
            second = (port, try await Self.startBroker(identity, port: port, directory: directory, subscribeGuard: subscribeGuard), directory)
        } else {
            second = nil
        }
        try await identity.startHTTP()
    }

    /// Writes a broker's files with ``BrokerConfigGenerator`` (as `broker-config` does) and starts mosquitto on them.
    private static func startBroker(_ identity: IdentityFixture, port: Int, directory: String, subscribeGuard: String?) async throws
        -> ServerProcess
    {
        var options = BrokerConfigGenerator.Options()
        options.port = port
        options.logDest = "stderr"
        options.persistenceDir = directory + "/"
        options.serverKeyGroup = getgrnam("nogroup")?.pointee.gr_gid ?? getgid()
        options.runAsUser = geteuid() == 0 ? "root" : (ProcessInfo.processInfo.environment["USER"] ?? "nobody")
        options.subscribeGuard = subscribeGuard
        let revocation = Revocation(authority: identity.authority, store: identity.certificates, crlFile: directory + "/crl.pem",
                                    crlValidity: .seconds(86_400), reloader: BrokerReloader(pidFile: directory + "/mosquitto.pid"),
                                    broker: nil, logger: identity.logs.logger("aggregator.revoke"))
        let output = try await BrokerConfigGenerator(authority: identity.authority, store: identity.certificates, revocation: revocation,
                                                     serviceIdentity: identity.configuration.serviceIdentity)
            .write(to: directory, options: options)
        let process = try ServerProcess(name: "mosquitto", executable: try locateTool("mosquitto"), arguments: ["-c", output.configFile],
                                        logPath: directory + "/mosquitto.log")
        // mosquitto writes its pid file only when it daemonizes; systemd or the harness writes it otherwise.
        try "\(process.pid)\n".write(toFile: directory + "/mosquitto.pid", atomically: true, encoding: .utf8)
        try await waitUntil(timeout: .seconds(20), "mosquitto on \(port)") {
            guard process.isRunning else { throw HarnessError("mosquitto exited: \(process.log)") }
            return FreePort.isAccepting(port)
        }
        return process
    }

    var revocation: Revocation { Self.revocation(identity) }

    static func revocation(_ identity: IdentityFixture) -> Revocation {
        Revocation(configuration: identity.configuration, authority: identity.authority, store: identity.certificates,
                   logger: identity.logs.logger("aggregator.revoke"))
    }

    /// Enrolls `device` through the config endpoint and returns its agent configuration.
    func enroll(_ device: String) async throws -> AgentConfiguration {
        let token = try await identity.makeToken(device: device)
        let directory = identity.directory.file("device-\(device)")
        let enrollment = Enrollment(server: identity.serverURL, token: token.printed, configDirectory: directory)
        _ = try await enrollment.run()
        return try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: enrollment.configFile)
    }

    func stop() async {
        await process.stop()
        await second?.process.stop()
        await identity.stop()
    }
}

/// An MQTT client whose events are recorded as they come.
final class WatchedClient: Sendable {
    private final class Recorder: Sendable {
        let events = Mutex<[MQTTEvent]>([])
        let task = Mutex<Task<Void, Never>?>(nil)
    }

    let client: MQTTClient
    private let recorder = Recorder()

    init(_ settings: BrokerSettings, clientID: String, logger: Logger) throws {
        var configuration = settings.clientConfiguration(clientID: clientID)
        configuration.backoff = ReconnectBackoff(initial: 0.2, maximum: 1)
        configuration.refusedCertificateBackoff = ReconnectBackoff(initial: 0.2, maximum: 1)
        client = try MQTTClient(configuration: configuration, logger: logger)
        let client = client
        let recorder = recorder
        recorder.task.withLock {
            $0 = Task {
                for await event in client.events { recorder.events.withLock { $0.append(event) } }
            }
        }
        client.start()
    }

    var recorded: [MQTTEvent] { recorder.events.withLock { $0 } }

    var payloads: [String] {
        recorded.compactMap { if case .message(let message) = $0 { String(decoding: message.payload, as: UTF8.self) } else { nil } }
    }

    func waitConnected() async throws {
        try await waitUntil(timeout: .seconds(20), "connected") { [self] in
            recorded.contains { if case .connected = $0 { true } else { false } }
        }
    }

    func received(_ payload: String) -> Bool { payloads.contains(payload) }

    func shutdown() async {
        await client.shutdown()
        let running = recorder.task.withLock { $0 }
        await running?.value
    }
}
