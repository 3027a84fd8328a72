import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostWire
import Synchronization
import Testing
import TestHarness

@Suite("Certificate renewal end to end with short-lived certificates", .serialized, .timeLimit(.minutes(4)))
struct RenewalEndToEndTests {
    /// 36-second certificates renew at about 24 s; two renewals take about 50 s.
    @Test("the agent keeps publishing across two renewals with no reading lost")
    func publishesAcrossRenewals() async throws {
        let fixture = try await BrokerFixture(certificateLifetime: 36)
        var clients: [WatchedClient] = []
        do {
            let logs = fixture.identity.logs
            let configuration = try await fixture.enroll("meter-r")
            let service = try WatchedClient(fixture.identity.configuration.mqtt, clientID: "svc.aggregator.a1", logger: logs.logger("svc"))
            clients.append(service)
            try await service.waitConnected()
            try await service.client.subscribe(Topic.allDevices(.telemetry))

            let renewer = try #require(CertificateRenewer(configuration: configuration, logger: logs.logger("agent.renewer")))
            let renewerTask = Task { try await renewer.run() }
            defer { renewerTask.cancel() }
            let installed = Mutex<[CertificateRenewer.Installed]>([])
            let installedAt = Mutex<[Date]>([])
            let first = try renewer.credentials.currentCertificate()
            let watcher = Task {
                for await item in renewer.installed {
                    installed.withLock { $0.append(item) }
                    installedAt.withLock { $0.append(Date()) }
                }
            }
            defer { watcher.cancel() }

            var device = try WatchedClient(configuration.mqtt, clientID: "meter-r", logger: logs.logger("agent.publisher"))
            try await device.waitConnected()
            let topic = Topic(DeviceID("meter-r")!, .telemetry).name
            var seq = 0, published = 0, reconnects = 0, handled = 0
            let deadline = ContinuousClock.now + .seconds(150)
            var afterSecond = 0
            while ContinuousClock.now < deadline && afterSecond < 20 {
                // A reading is captured every 100 ms whatever the connection does.
                seq += 1
                let renewals = installed.withLock { $0.count }
                if renewals > handled {
                    // New certificate installed: reconnect with it (the old stays valid until it expires).
                    handled = renewals
                    await device.shutdown()
                    device = try WatchedClient(configuration.mqtt, clientID: "meter-r", logger: logs.logger("agent.publisher"))
                    clients.append(device)
                    reconnects += 1
                }
                while published < seq {
                    do {
                        try await device.client.publish(topic, payload: Array("\(published + 1)".utf8))
                        published += 1
                    } catch {
                        break
                    }
                }
                if handled >= 2 { afterSecond += 1 }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await waitUntil(timeout: .seconds(30), "every reading delivered") { [published] in
                Set(service.payloads.compactMap(Int.init)).count == published && published == seq
            }
            let certificates = installed.withLock { $0 }
            #expect(certificates.count >= 2)
            // Each renewal lands at two thirds of its certificate's validity, ±5% jitter, plus the
            // time the request itself takes on a loaded machine.
            let times = installedAt.withLock { $0 }
            let window = first.notValidAfter.timeIntervalSince(first.notValidBefore)
            let starts = [first.notValidBefore] + certificates.map { $0.notAfter.addingTimeInterval(-window) }
            for (index, time) in times.prefix(2).enumerated() {
                let fraction = time.timeIntervalSince(starts[index]) / window
                #expect(fraction > 2.0 / 3 - 0.06 && fraction < 2.0 / 3 + 0.12, "renewal \(index + 1) at \(fraction) of the lifetime")
            }
            #expect(Set(certificates.map(\.serial)).count == certificates.count)
            #expect(reconnects >= 2)
            #expect(Set(service.payloads.compactMap(Int.init)) == Set(1...seq))
            #expect(try await fixture.identity.certificateCount(device: "meter-r") >= 3)
            #expect(try fileMode(configuration.mqtt.keyFile) == 0o600)
            #expect(logs.leaks([try String(contentsOfFile: configuration.mqtt.keyFile, encoding: .utf8)]).isEmpty)
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
        for client in clients { await client.shutdown() }
        await fixture.stop()
    }
}
