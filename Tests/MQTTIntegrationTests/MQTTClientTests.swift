import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostMQTT
@testable import OutpostWire

/// The MQTT client against a real mosquitto with TLS and client certificates.
@Suite("MQTT client against a real mosquitto", .serialized, .timeLimit(.minutes(3)))
struct MQTTClientTests {
    static let service = "svc.aggregator.test"

    /// A broker, its CA, and clients that are all shut down however the test ends.
    final class Fixture: @unchecked Sendable {
        let directory: TemporaryDirectory
        let ca: TestCertificateAuthority
        let broker: MosquittoServer
        private var clients: [MQTTClient] = []

        init() async throws {
            directory = try TemporaryDirectory()
            ca = try await TestCertificateAuthority(directory: directory.path)
            broker = try await MosquittoServer(directory: directory.path, ca: ca, options: .init(serviceIdentities: [MQTTClientTests.service]))
        }

        func client(_ identity: String, will: MQTTConfiguration.Will? = nil, clientID: String? = nil) async throws -> MQTTClient {
            let issued = try await ca.issueClient(identity)
            var configuration = broker.settings(for: issued).clientConfiguration(clientID: clientID ?? identity, will: will, sessionExpiry: 0)
            configuration.backoff = ReconnectBackoff(initial: 0.05, maximum: 0.5)
            configuration.keepAlive = 5
            return try make(configuration)
        }

        func make(_ configuration: MQTTConfiguration) throws -> MQTTClient {
            let client = try MQTTClient(configuration: configuration, logger: Logger(label: "test.mqtt"))
            clients.append(client)
            return client
        }

        func tearDown() async {
            for client in clients { await client.shutdown() }
            await broker.stop()
            directory.remove()
        }
    }

    static func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        let fixture = try await Fixture()
        do {
            try await body(fixture)
        } catch {
            await fixture.tearDown()
            throw error
        }
        await fixture.tearDown()
    }

    @Test("a client certificate from the CA connects; QoS 1 publish reaches a subscriber")
    func qos1PublishSubscribe() async throws {
        try await Self.withFixture { fixture in
            let device = try await fixture.client("dev-a")
            let centre = try await fixture.client(Self.service)
            var centreEvents = centre.events.makeAsyncIterator()
            var deviceEvents = device.events.makeAsyncIterator()
            centre.start()
            device.start()
            #expect(await centreEvents.next() == .connected(sessionPresent: false))
            #expect(await deviceEvents.next() == .connected(sessionPresent: false))
            try await centre.subscribe(Topic.allDevices(.telemetry))
            for index in 0..<20 {
                try await device.publish(Topic(DeviceID("dev-a")!, .telemetry).name, payload: Array("m\(index)".utf8))
            }
            var received: [String] = []
            while received.count < 20, case .message(let message) = await centreEvents.next() {
                #expect(message.topic == "outpost/v1/dev-a/telemetry")
                #expect(message.qos == .atLeastOnce)
                received.append(String(decoding: message.payload, as: UTF8.self))
            }
            #expect(received == (0..<20).map { "m\($0)" })
        }
    }

    @Test("no client certificate, a foreign CA's certificate, or plain TCP are refused")
    func refusedWithoutTrustedCertificate() async throws {
        try await Self.withFixture { fixture in
            let foreign = try await TestCertificateAuthority(directory: fixture.directory.path, name: "Foreign CA")
            let foreignIdentity = try await foreign.issueClient("dev-a")
            var configurations: [MQTTConfiguration] = []
            var noCertificate = fixture.broker.settings(for: try await fixture.ca.issueClient("dev-n")).clientConfiguration(clientID: "dev-n")
            noCertificate.tls?.certificateFile = nil
            noCertificate.tls?.keyFile = nil
            configurations.append(noCertificate)
            configurations.append(fixture.broker.settings(for: foreignIdentity).clientConfiguration(clientID: "dev-f"))
            var plain = noCertificate
            plain.tls = nil
            plain.clientID = "dev-p"
            configurations.append(plain)
            for var configuration in configurations {
                configuration.backoff = ReconnectBackoff(initial: 0.05, maximum: 0.2)
                configuration.refusedCertificateBackoff = ReconnectBackoff(initial: 0.05, maximum: 0.2)
                let client = try fixture.make(configuration)
                var events = client.events.makeAsyncIterator()
                client.start()
                // Under TLS 1.3 the broker refuses a client certificate after the client's side of the
                // handshake is done, so an attempt may end as a bare protocol error before OpenSSL logs
                // the alert: a foreign certificate gets up to ten attempts to show the alert once.
                let foreign = configuration.clientID == "dev-f"
                func alerted(_ failures: [MQTTError]) -> Bool {
                    failures.contains { $0.code == .certificateRefused && $0.context.hasSuffix("alert unknown ca") }
                }
                var failures: [MQTTError] = []
                while failures.count < 3 || (foreign && failures.count < 10 && !alerted(failures)), let event = await events.next() {
                    guard case .connectionFailed(let error) = event else {
                        Issue.record("\(configuration.clientID) got \(event), expected only refusals")
                        break
                    }
                    failures.append(error)
                }
                #expect(failures.count >= 3, "\(configuration.clientID)")
                // The broker's TLS alert names a certificate from another CA; plain TCP is no certificate problem.
                if foreign { #expect(alerted(failures), "\(failures)") }
                if configuration.clientID == "dev-p" { #expect(!failures.contains { $0.code == .certificateRefused }) }
                #expect(!client.isConnected)
                await client.shutdown()
            }
        }
    }

    @Test("killing a client's socket abruptly makes the broker publish its last will")
    func lastWill() async throws {
        try await Self.withFixture { fixture in
            let device = DeviceID("dev-w")!
            let offline = try WireCodec().encode(DeviceState(device: device, status: .offline, ts: WireClock.nowMs()))
            let will = MQTTConfiguration.Will(topic: Topic(device, .state).name, payload: offline)
            let agent = try await fixture.client("dev-w", will: will)
            let centre = try await fixture.client(Self.service)
            var centreEvents = centre.events.makeAsyncIterator()
            var agentEvents = agent.events.makeAsyncIterator()
            centre.start()
            #expect(await centreEvents.next() == .connected(sessionPresent: false))
            try await centre.subscribe(Topic.allDevices(.state))
            agent.start()
            #expect(await agentEvents.next() == .connected(sessionPresent: false))
            agent.abortConnectionForTesting()
            guard case .message(let message) = await centreEvents.next() else {
                Issue.record("no will arrived")
                return
            }
            #expect(message.topic == "outpost/v1/dev-w/state")
            let state = try WireCodec().decode(DeviceState.self, from: message.payload, topicDevice: device)
            #expect(state.status == .offline)
            // The client notices the loss and reconnects by itself (a failed attempt or two may come first under load).
            var sawLoss = false
            var reconnected = false
            for _ in 0..<20 {
                guard let event = await agentEvents.next() else { break }
                if case .disconnected = event { sawLoss = true }
                if case .connected = event {
                    reconnected = true
                    break
                }
            }
            #expect(sawLoss)
            #expect(reconnected)
        }
    }

    @Test("a clean shutdown sends DISCONNECT, so no will is published")
    func cleanShutdownHasNoWill() async throws {
        try await Self.withFixture { fixture in
            let device = DeviceID("dev-c")!
            let will = MQTTConfiguration.Will(topic: Topic(device, .state).name, payload: Array("gone".utf8), retain: false)
            let agent = try await fixture.client("dev-c", will: will)
            let centre = try await fixture.client(Self.service)
            var centreEvents = centre.events.makeAsyncIterator()
            var agentEvents = agent.events.makeAsyncIterator()
            centre.start()
            agent.start()
            _ = await centreEvents.next()
            _ = await agentEvents.next()
            try await centre.subscribe(Topic.allDevices(.state))
            await agent.shutdown()
            // A marker published after the shutdown must be the first thing the centre sees.
            let other = try await fixture.client("dev-d")
            var otherEvents = other.events.makeAsyncIterator()
            other.start()
            _ = await otherEvents.next()
            try await other.publish(Topic(DeviceID("dev-d")!, .state).name, payload: Array("marker".utf8))
            guard case .message(let message) = await centreEvents.next() else {
                Issue.record("no message")
                return
            }
            #expect(String(decoding: message.payload, as: UTF8.self) == "marker")
        }
    }

    @Test("two clients on one shared subscription split the messages, each delivered once")
    func sharedSubscriptionSplits() async throws {
        try await Self.withFixture { fixture in
            let first = try await fixture.client(Self.service, clientID: "svc-1")
            let second = try await fixture.client(Self.service, clientID: "svc-2")
            let device = try await fixture.client("dev-s")
            let counts = ReceivedCounter()
            for client in [first, second] {
                var events = client.events.makeAsyncIterator()
                client.start()
                #expect(await events.next() == .connected(sessionPresent: false))
                try await client.subscribe(Topic.shared(.telemetry))
                let name = client.configuration.clientID
                Task {
                    while let event = await events.next() {
                        if case .message(let message) = event { counts.record(name, String(decoding: message.payload, as: UTF8.self)) }
                    }
                }
            }
            var deviceEvents = device.events.makeAsyncIterator()
            device.start()
            _ = await deviceEvents.next()
            let total = 200
            for index in 0..<total {
                try await device.publish(Topic(DeviceID("dev-s")!, .telemetry).name, payload: Array("\(index)".utf8))
            }
            try await waitUntil(timeout: .seconds(30), "all shared messages") { counts.total >= total }
            let snapshot = counts.snapshot
            #expect(Set(snapshot.values.flatMap { $0 }).count == total, "every message once")
            #expect(snapshot.values.map(\.count).reduce(0, +) == total, "no duplicates")
            #expect(snapshot["svc-1", default: []].count > 0)
            #expect(snapshot["svc-2", default: []].count > 0)
        }
    }

    @Test("the broker enforces the ACL: a device cannot publish as another or read another's commands")
    func aclEnforced() async throws {
        try await Self.withFixture { fixture in
            let intruder = try await fixture.client("dev-a")
            let centre = try await fixture.client(Self.service)
            var centreEvents = centre.events.makeAsyncIterator()
            var intruderEvents = intruder.events.makeAsyncIterator()
            centre.start()
            intruder.start()
            _ = await centreEvents.next()
            _ = await intruderEvents.next()
            try await centre.subscribe(Topic.allDevices(.telemetry))
            // mosquitto's acl_file grants a SUBSCRIBE and then filters on delivery; either way nothing of B's may arrive.
            do {
                try await intruder.subscribe(Topic(DeviceID("dev-b")!, .cmd).name)
            } catch let error as MQTTError {
                #expect(error.code == .subscriptionRefused)
            }
            try await intruder.subscribe(Topic(DeviceID("dev-a")!, .cmd).name)
            try await centre.publish(Topic(DeviceID("dev-b")!, .cmd).name, payload: Array("for-b".utf8))
            try await centre.publish(Topic(DeviceID("dev-a")!, .cmd).name, payload: Array("for-a".utf8))
            guard case .message(let command) = await intruderEvents.next() else {
                Issue.record("no command arrived")
                return
            }
            #expect(command.topic == "outpost/v1/dev-a/cmd")
            #expect(String(decoding: command.payload, as: UTF8.self) == "for-a")

            // A publish the ACL denies is acknowledged and dropped; the marker after it proves nothing got through.
            try? await intruder.publish(Topic(DeviceID("dev-b")!, .telemetry).name, payload: Array("forged".utf8))
            try await intruder.publish(Topic(DeviceID("dev-a")!, .telemetry).name, payload: Array("own".utf8))
            guard case .message(let message) = await centreEvents.next() else {
                Issue.record("no message")
                return
            }
            #expect(message.topic == "outpost/v1/dev-a/telemetry")
            #expect(String(decoding: message.payload, as: UTF8.self) == "own")
        }
    }

    @Test("an unreadable certificate file is a configuration error, not a crash")
    func unreadableCertificate() throws {
        let configuration = MQTTConfiguration(
            host: "127.0.0.1", port: 1, clientID: "x",
            tls: .init(caFile: "/nonexistent/ca.pem", certificateFile: "/nonexistent/c.pem", keyFile: "/nonexistent/k.pem"))
        #expect(throws: MQTTError(.invalidConfiguration, "")) {
            _ = try MQTTClient(configuration: configuration, logger: Logger(label: "test"))
        }
    }
}

final class ReceivedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [String: [String]] = [:]
    func record(_ client: String, _ payload: String) { lock.withLock { received[client, default: []].append(payload) } }
    var total: Int { lock.withLock { received.values.map(\.count).reduce(0, +) } }
    var snapshot: [String: [String]] { lock.withLock { received } }
}
