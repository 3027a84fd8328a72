import Foundation
import OutpostAgent
@testable import OutpostAggregator
import OutpostWire
import Testing
import TestHarness

/// Identity with two brokers, each started from its own `broker-config` output: enrollment
/// answers each device's own broker; revocation writes the CRL for both, ends the device's
/// sessions on both, and both refuse it afterwards.
@Suite("Identity with two brokers", .serialized, .timeLimit(.minutes(4)))
struct TwoBrokerIdentityTests {
    @Test("enroll answers the device's broker; an override moves it at its renewal; revoke is refused on both brokers")
    func enrollAndRevoke() async throws {
        let fixture = try await BrokerFixture(secondBroker: true)
        var clients: [WatchedClient] = []
        do {
            let logs = fixture.identity.logs
            let portB = try #require(fixture.second?.port)
            let assignment = fixture.identity.configuration.brokerAssignment
            let onA = try #require((0..<100).map { "meter-\($0)" }.first { assignment.broker(for: $0) == "a" })
            let onB = try #require((0..<100).map { "meter-\($0)" }.first { assignment.broker(for: $0) == "b" })
            let configurationA = try await fixture.enroll(onA)
            let configurationB = try await fixture.enroll(onB)
            #expect(configurationA.mqtt.port == fixture.brokerPort)
            #expect(configurationB.mqtt.port == portB)

            // An override moves a device: the config endpoint answers the new broker from then on.
            let directory = BrokerDirectory(configuration: fixture.identity.configuration, client: fixture.identity.database.client,
                                            logger: logs.logger("api"))
            let moved = try #require(try await directory.setOverride("b", for: onA))
            #expect(moved == .init(device: onA, broker: "b", hashed: "a", override: "b"))
            #expect(try await directory.address(for: onA) == .init(host: "127.0.0.1", port: portB))
            #expect(try await directory.setOverride("b", for: "no-such-device") == nil)
            _ = try await directory.setOverride(nil, for: onA)
            #expect(try await directory.address(for: onA) == .init(host: "127.0.0.1", port: fixture.brokerPort))

            // A move: override to b, then the agent's renewal (mutual TLS through the config endpoint)
            // names b, the agent records the redirect and its next client connects to b with the new certificate.
            let mover = try #require((100..<200).map { "meter-\($0)" }.first { assignment.broker(for: $0) == "a" })
            let moverConfiguration = try await fixture.enroll(mover)
            #expect(moverConfiguration.mqtt.port == fixture.brokerPort)
            _ = try await directory.setOverride("b", for: mover)
            // The renewer as the agent runs it (next renewal weeks away); the `renew_certificate`
            // command the centre sends makes it renew now.
            let renewer = try #require(CertificateRenewer(configuration: moverConfiguration, logger: logs.logger("agent.renewer")))
            let renewing = Task { try await renewer.run() }
            defer { renewing.cancel() }
            let output = try await RenewCertificateCommand(renewer: renewer).handle(
                Command(id: "01JCMD", name: "renew_certificate", expiresAt: WireClock.nowMs() + 60_000))
            #expect(output == ["renewal": "requested"])
            var iterator = renewer.installed.makeAsyncIterator()
            let installed = try #require(await iterator.next())
            #expect(installed.broker == .init(host: "127.0.0.1", port: portB))
            let connection = RenewedConnection(configured: moverConfiguration.mqtt, stateDir: fixture.identity.directory.file("device-\(mover)"))
            #expect(connection.renewed(broker: installed.broker, logger: logs.logger("agent.renewer")))
            #expect(connection.brokerSettings.port == portB)
            let movedClient = try WatchedClient(connection.brokerSettings, clientID: mover, logger: logs.logger("agent.mover"))
            clients.append(movedClient)
            try await movedClient.waitConnected()
            #expect(try #require(fixture.second?.process.log).contains("New client connected from 127.0.0.1"))
            #expect(try #require(fixture.second?.process.log).contains(" as \(mover) "))

            // The device on a also holds a session on b (as a moved device may, for a while).
            var onBothSettings = configurationA.mqtt
            onBothSettings.port = portB
            let deviceOnA = try WatchedClient(configurationA.mqtt, clientID: onA, logger: logs.logger("agent.a"))
            let deviceOnAAlsoOnB = try WatchedClient(onBothSettings, clientID: onA, logger: logs.logger("agent.a.b"))
            let deviceOnB = try WatchedClient(configurationB.mqtt, clientID: onB, logger: logs.logger("agent.b"))
            clients += [deviceOnA, deviceOnAAlsoOnB, deviceOnB]
            for client in clients { try await client.waitConnected() }

            let outcome = try await fixture.revocation.revoke(device: DeviceID(onA)!)
            #expect(outcome.sessionEnded)
            #expect(fixture.revocation.targets.map(\.name) == ["a", "b"])
            let crlA = try String(contentsOfFile: fixture.brokerDirectory + "/crl.pem", encoding: .utf8)
            let crlB = try String(contentsOfFile: try #require(fixture.second?.directory) + "/crl.pem", encoding: .utf8)
            #expect(crlA == crlB && crlA.contains("BEGIN X509 CRL"))

            // Both sessions ended, and neither broker lets the device back in.
            for client in [deviceOnA, deviceOnAAlsoOnB] {
                try await waitUntil(timeout: .seconds(20), "revoked session ended") {
                    client.recorded.contains { if case .disconnected = $0 { true } else { false } }
                }
                let connectsBefore = client.recorded.filter { if case .connected = $0 { true } else { false } }.count
                try await waitUntil(timeout: .seconds(90), "reconnects refused") {
                    client.recorded.filter { if case .connectionFailed = $0 { true } else { false } }.count >= 2
                }
                #expect(client.recorded.filter { if case .connected = $0 { true } else { false } }.count == connectsBefore)
                #expect(!client.client.isConnected)
            }
            for log in [fixture.process.log, try #require(fixture.second?.process.log)] {
                #expect(log.contains("Client \(onA) already connected, closing old connection"))
                #expect(log.contains("certificate verify failed") || log.contains("certificate revoked"))
            }
            // The other device, on b, is untouched.
            #expect(deviceOnB.client.isConnected)
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
        for client in clients { await client.shutdown() }
        await fixture.stop()
    }

    @Test("broker a down: the device's session on b is still ended, the terminator revoked, and the error names a")
    func revokeWithOneBrokerDown() async throws {
        let fixture = try await BrokerFixture(secondBroker: true)
        var clients: [WatchedClient] = []
        do {
            let logs = fixture.identity.logs
            let assignment = fixture.identity.configuration.brokerAssignment
            let device = try #require((0..<100).map { "meter-\($0)" }.first { assignment.broker(for: $0) == "a" })
            var onB = try await fixture.enroll(device).mqtt
            onB.port = try #require(fixture.second?.port)
            let deviceOnB = try WatchedClient(onB, clientID: device, logger: logs.logger("agent.b"))
            clients.append(deviceOnB)
            try await deviceOnB.waitConnected()
            // a is first in the list, so a revocation that stopped at the first failure would never reach b.
            await fixture.process.crash()

            let error = await #expect(throws: IdentityError.self) { try await fixture.revocation.revoke(device: DeviceID(device)!) }
            #expect(error?.code == .brokerUnreachable)
            #expect(error?.brokers == ["a"])
            #expect(error?.context.contains("not enforced on a:") == true)

            try await waitUntil(timeout: .seconds(20), "the session on b ended") {
                deviceOnB.recorded.contains { if case .disconnected = $0 { true } else { false } }
            }
            try await waitUntil(timeout: .seconds(90), "b refuses the device's reconnects") {
                deviceOnB.recorded.filter { if case .connectionFailed = $0 { true } else { false } }.count >= 2
            }
            #expect(!deviceOnB.client.isConnected)
            #expect(try #require(fixture.second?.process.log).contains("Client \(device) already connected, closing old connection"))
            // The terminator (the device's CN, five minutes) was minted and is revoked: on the CRL both brokers read.
            let rows = try await fixture.identity.database.client.query(
                "SELECT count(*)::int, count(revoked_at)::int FROM certificates WHERE purpose = 'session_terminator' AND subject = \(device)")
            for try await (minted, revoked) in rows.decode((Int, Int).self) {
                #expect(minted == 1 && revoked == 1, "terminators minted \(minted), revoked \(revoked)")
            }
            let crlA = try String(contentsOfFile: fixture.brokerDirectory + "/crl.pem", encoding: .utf8)
            let crlB = try String(contentsOfFile: try #require(fixture.second?.directory) + "/crl.pem", encoding: .utf8)
            #expect(crlA == crlB && crlA.contains("BEGIN X509 CRL"))
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
        for client in clients { await client.shutdown() }
        await fixture.stop()
    }
}
