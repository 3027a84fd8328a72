import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostMQTT
@testable import OutpostWire

/// Releasing a client whose delivered messages were never consumed must not crash
/// (libdispatch traps on a semaphore disposed below its initial value).
@Suite("MQTT client release", .serialized, .timeLimit(.minutes(2)))
struct MQTTClientReleaseTests {
    @Test("a client shut down and released with unconsumed messages does not trap")
    func releaseWithUnconsumedMessages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ca = try await TestCertificateAuthority(directory: directory.path)
        let service = "svc.release.test"
        let broker = try await MosquittoServer(directory: directory.path, ca: ca, options: .init(serviceIdentities: [service]))
        defer { Task { await broker.stop() } }
        var subscriberConfiguration = broker.settings(for: try await ca.issueClient(service)).clientConfiguration(clientID: "svc-release", sessionExpiry: 0)
        subscriberConfiguration.incomingBufferLimit = 8
        var subscriber: MQTTClient? = try MQTTClient(configuration: subscriberConfiguration, logger: Logger(label: "test.release"))
        let publisher = try MQTTClient(
            configuration: broker.settings(for: try await ca.issueClient("dev-r")).clientConfiguration(clientID: "dev-r", sessionExpiry: 0),
            logger: Logger(label: "test.release"))
        // A witness subscribed after the subscriber: once it has every message, the broker
        // has sent them to the subscriber too.
        var witnessConfiguration = subscriberConfiguration
        witnessConfiguration.clientID = "svc-witness"
        let witness = try MQTTClient(configuration: witnessConfiguration, logger: Logger(label: "test.release"))
        subscriber?.start()
        publisher.start()
        witness.start()
        try await waitUntil(timeout: .seconds(20), "all connected") {
            subscriber?.isConnected == true && publisher.isConnected && witness.isConnected
        }
        try await subscriber?.subscribe(Topic.allDevices(.telemetry))
        try await witness.subscribe(Topic.allDevices(.telemetry))
        for index in 0..<5 {
            try await publisher.publish(Topic(DeviceID("dev-r")!, .telemetry).name, payload: Array("m\(index)".utf8))
        }
        var witnessed = 0
        for await event in witness.events {
            if case .message = event { witnessed += 1 }
            if witnessed == 5 { break }
        }
        // Nobody iterates the subscriber's events: its five messages sit in the stream.
        await witness.shutdown()
        await subscriber?.shutdown()
        subscriber = nil
        await publisher.shutdown()
        #expect(subscriber == nil)
        await broker.stop()
    }
}
