import Foundation
import Logging
import OutpostAgent
import OutpostAggregator
import OutpostCommon
import Synchronization
import TestHarness

/// mosquitto started from the configuration `broker-config` generated, plus helpers to
/// enroll devices through the real config endpoint and to watch MQTT clients.
final class BrokerFixture: @unchecked Sendable {
    let identity: IdentityFixture
    let brokerPort: Int
    let process: ServerProcess
    let brokerDirectory: String

    /// - Parameter subscribeGuard: the `outpost_subscribe_guard` plugin to load, if any.
    init(certificateLifetime: Int = 30 * 86_400, subscribeGuard: String? = nil) async throws {
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
        var options = BrokerConfigGenerator.Options()
        options.port = brokerPort
        options.logDest = "stderr"
        options.persistenceDir = brokerDirectory + "/"
        options.serverKeyGroup = getgrnam("nogroup")?.pointee.gr_gid ?? getgid()
        options.runAsUser = geteuid() == 0 ? "root" : (ProcessInfo.processInfo.environment["USER"] ?? "nobody")
        options.subscribeGuard = subscribeGuard
        let output = try await BrokerConfigGenerator(authority: identity.authority, store: identity.store,
                                                     revocation: Self.revocation(identity),
                                                     serviceIdentity: identity.configuration.serviceIdentity)
            .write(to: brokerDirectory, options: options)
        process = try ServerProcess(name: "mosquitto", executable: try locateTool("mosquitto"), arguments: ["-c", output.configFile],
                                    logPath: brokerDirectory + "/mosquitto.log")
        // mosquitto writes its pid file only when it daemonizes; systemd or the harness writes it otherwise.
        try "\(process.pid)\n".write(toFile: brokerDirectory + "/mosquitto.pid", atomically: true, encoding: .utf8)
        try await waitUntil(timeout: .seconds(20), "mosquitto on \(brokerPort)") { [process, brokerPort] in
            guard process.isRunning else { throw HarnessError("mosquitto exited: \(process.log)") }
            return FreePort.isAccepting(brokerPort)
        }
        try await identity.startHTTP()
    }

    var revocation: Revocation { Self.revocation(identity) }

    static func revocation(_ identity: IdentityFixture) -> Revocation {
        Revocation(authority: identity.authority, store: identity.store, crlFile: identity.configuration.crlFile,
                   crlValidity: .seconds(86_400), reloader: BrokerReloader(pidFile: identity.configuration.identity.brokerPidFile),
                   broker: identity.configuration.mqtt, logger: identity.logs.logger("aggregator.revoke"))
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
