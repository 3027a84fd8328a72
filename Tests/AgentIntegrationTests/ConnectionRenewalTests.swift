import Foundation
import Logging
import Synchronization
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostMQTT

/// The agent in-process: the MQTT connection is rebuilt from fresh settings (a renewed
/// certificate) without losing or duplicating the window.
@Suite("Agent connection renewal", .serialized, .timeLimit(.minutes(2)))
struct ConnectionRenewalTests {
    @Test("renewConnection() reconnects with the new certificate files and readings keep flowing")
    func renewal() async throws {
        try await AgentFixture.with(device: "meter-renew") { fixture in
            let useRenewed = Atomic<Bool>(false)
            let original = fixture.broker.settings(for: fixture.identity)
            let fresh = BrokerSettings(
                host: original.host, port: original.port, caFile: original.caFile,
                certFile: fixture.directory.file("renewed.pem"), keyFile: fixture.directory.file("renewed.key"))
            let agent = try Agent(
                configuration: fixture.configuration(sources: [.meter(intervalS: 0.05)]),
                brokerSettings: { useRenewed.load(ordering: .sequentiallyConsistent) ? fresh : original },
                logger: Logger(label: "test.agent"))
            let running = Task { try await agent.run() }
            let aggregator = fixture.aggregator
            // The broker logs each accepted connection: TLS with a client certificate the CA signed, then CONNECT.
            let connections = { fixture.broker.log.components(separatedBy: " as meter-renew (").count - 1 }
            try await aggregator.wait(timeout: .seconds(20), "readings with the first certificate") { $0.storedCount >= 50 }
            #expect(connections() == 1)
            let originalSerial = try #require(CertificateExpiry.identity(pemFile: original.certFile)?.serial)

            // A new key and certificate (same CN) at new paths: the CA writes them over the old files and
            // the move takes them away, so only the new paths can make another connection.
            let renewed = try await fixture.ca.issueClient("meter-renew")
            try FileManager.default.moveItem(atPath: renewed.certificateFile, toPath: fresh.certFile)
            try FileManager.default.moveItem(atPath: renewed.keyFile, toPath: fresh.keyFile)
            #expect(!FileManager.default.fileExists(atPath: original.certFile) && !FileManager.default.fileExists(atPath: original.keyFile))
            let renewedSerial = try #require(CertificateExpiry.identity(pemFile: fresh.certFile)?.serial)
            #expect(renewedSerial != originalSerial)
            useRenewed.store(true, ordering: .sequentiallyConsistent)
            agent.publisher.renewConnection()
            // Not an online state alone: the agent repeats its state every 5 s on the old connection too.
            try await waitUntil(timeout: .seconds(20), "a second connection, made with the renewed files") { connections() == 2 }
            try await aggregator.wait(timeout: .seconds(20), "a birth reporting the renewed certificate") { record in
                record.states.contains { $0.status == .online && $0.certSerial == renewedSerial }
            }
            let afterRenewal = aggregator.storedCount
            try await aggregator.wait(timeout: .seconds(20), "readings with the renewed certificate") { $0.storedCount >= afterRenewal + 50 }

            await agent.shutdown()
            try await running.value
            let stats = await agent.buffer.stats()
            let stored = aggregator.snapshot.stored[stats.buffer] ?? []
            let left = try await agent.buffer.readings(after: 0, limit: 100_000).map(\.seq)
            #expect(stored.union(left).count == Int(stats.lastSeq), "nothing lost across the renewal")
            try await aggregator.wait(timeout: .seconds(10), "offline state after shutdown") { $0.states.last?.status == .offline }
            // A retry with files that do not load fails in the agent before any TCP connect, so the
            // broker's count shows one reconnect and no further connection, not the absence of such retries.
            #expect(connections() == 2, "one reconnect at the broker, no other connection")
        }
    }
}
