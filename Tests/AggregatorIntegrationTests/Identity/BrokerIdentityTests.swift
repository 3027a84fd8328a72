import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostMQTT
import OutpostWire
import Testing
import TestHarness

@Suite("Identity against the real mosquitto configured by broker-config", .serialized, .timeLimit(.minutes(4)))
struct BrokerIdentityTests {
    @Test("enrolled devices connect; the ACL confines each to its own topics; revoke ends A's session and A cannot return")
    func aclAndRevocation() async throws {
        let fixture = try await BrokerFixture()
        var clients: [WatchedClient] = []
        do {
            let logs = fixture.identity.logs
            let configurationA = try await fixture.enroll("meter-a")
            let configurationB = try await fixture.enroll("meter-b")
            #expect(configurationA.mqtt.port == fixture.brokerPort)
            let config = try String(contentsOfFile: fixture.brokerDirectory + "/mosquitto.conf", encoding: .utf8)
            #expect(config.contains("require_certificate true") && config.contains("use_identity_as_username true"))
            #expect(config.contains("crlfile ") && config.contains("max_queued_messages 200000"))
            #expect(try fileMode(fixture.brokerDirectory + "/aggregator.key") == 0o600)
            #expect(try fileMode(fixture.brokerDirectory + "/server.key") == 0o640)
            #expect(DeviceCredentials.readingGroup(of: fixture.brokerDirectory + "/server.key") == (getgrnam("nogroup")?.pointee.gr_gid ?? getgid()))

            let service = try WatchedClient(fixture.identity.configuration.mqtt, clientID: "svc.aggregator.a1", logger: logs.logger("svc"))
            let deviceA = try WatchedClient(configurationA.mqtt, clientID: "meter-a", logger: logs.logger("agent.a"))
            let deviceB = try WatchedClient(configurationB.mqtt, clientID: "meter-b", logger: logs.logger("agent.b"))
            clients = [service, deviceA, deviceB]
            for client in clients { try await client.waitConnected() }
            try await service.client.subscribe(Topic.allDevices(.telemetry))
            try await deviceA.client.subscribe(Topic(DeviceID("meter-a")!, .cmd).name)
            try await deviceB.client.subscribe(Topic(DeviceID("meter-b")!, .cmd).name)

            // A cannot publish on B's topics: the subscriber never sees it.
            try? await deviceA.client.publish(Topic(DeviceID("meter-b")!, .telemetry).name, payload: Array("forged-by-a".utf8))
            try await deviceA.client.publish(Topic(DeviceID("meter-a")!, .telemetry).name, payload: Array("from-a".utf8))
            try await deviceB.client.publish(Topic(DeviceID("meter-b")!, .telemetry).name, payload: Array("from-b".utf8))
            try await waitUntil(timeout: .seconds(20), "own telemetry delivered") { service.received("from-a") && service.received("from-b") }
            #expect(!service.received("forged-by-a"))

            // A cannot subscribe to B's cmd: it never receives B's commands.
            try? await deviceA.client.subscribe(Topic(DeviceID("meter-b")!, .cmd).name)
            try await service.client.publish(Topic(DeviceID("meter-b")!, .cmd).name, payload: Array("cmd-for-b".utf8))
            try await service.client.publish(Topic(DeviceID("meter-a")!, .cmd).name, payload: Array("cmd-for-a".utf8))
            try await waitUntil(timeout: .seconds(20), "commands delivered") { deviceA.received("cmd-for-a") && deviceB.received("cmd-for-b") }
            #expect(!deviceA.received("cmd-for-b"))

            // A was online at the centre (as presence would have recorded it).
            _ = try await fixture.identity.postgres.psql("UPDATE devices SET status = 'online', status_cause = 'activity' WHERE id = 'meter-a'")

            // Revoke A: its live session ends, reconnecting fails, B is untouched.
            let revoke = try await CommandRun.run(try CommandRun.executable("outpost-aggregator"),
                                            ["cert", "revoke", "--config", try fixture.identity.writeConfigurationFile(), "--device", "meter-a"])
            #expect(revoke.status == 0, "\(revoke.stderr)")
            #expect(revoke.stdout.hasPrefix("revoked meter-a: 1 certificate(s); CRL has 3 entries; any live session closed"))
            #expect(!revoke.stderr.contains("PRIVATE KEY") && !revoke.stderr.contains("-----BEGIN"))
            #expect(try await fixture.identity.postgres.psql(
                "SELECT actor || ' ' || target || ' ' || (details->>'session_ended') FROM audit_log WHERE action = 'device.certificates_revoke'")
                == "cli:root device:meter-a true")
            try await waitUntil(timeout: .seconds(20), "A disconnected") {
                deviceA.recorded.contains { if case .disconnected = $0 { true } else { false } }
            }
            let connectsBefore = deviceA.recorded.filter { if case .connected = $0 { true } else { false } }.count
            // Under TLS 1.3 the broker refuses a client certificate after the client's side of the
            // handshake is done, so an attempt may end as a bare protocol error before OpenSSL logs the
            // alert: A gets up to ten refused attempts to show "certificate revoked" once.
            func refusals() -> [MQTTError] {
                deviceA.recorded.compactMap { event -> MQTTError? in
                    if case .connectionFailed(let error) = event { error } else { nil }
                }
            }
            func alerted() -> Bool {
                refusals().contains { $0.code == .certificateRefused && $0.context.contains("alert certificate revoked") }
            }
            try await waitUntil(timeout: .seconds(90), "A's reconnects refused") {
                refusals().count >= 2 && (alerted() || refusals().count >= 10)
            }
            #expect(deviceA.recorded.filter { if case .connected = $0 { true } else { false } }.count == connectsBefore)
            #expect(!deviceA.client.isConnected)
            #expect(deviceB.client.isConnected)
            try await deviceB.client.publish(Topic(DeviceID("meter-b")!, .telemetry).name, payload: Array("b-after-revoke".utf8))
            try await waitUntil(timeout: .seconds(20), "B still delivers") { service.received("b-after-revoke") }
            #expect(try await fixture.identity.postgres.psql("SELECT revoked_at IS NOT NULL FROM devices WHERE id = 'meter-a'") == "t")
            // The centre shows A revoked and offline at once, not online until a silence sweep that skips revoked devices.
            #expect(try await fixture.identity.postgres.psql("SELECT status || ' ' || status_cause FROM devices WHERE id = 'meter-a'")
                == "offline revoked")
            #expect(try await fixture.identity.postgres.psql(
                "SELECT status || ' ' || cause FROM device_status_changes WHERE device = 'meter-a'") == "offline revoked")
            let catalog = DevicesStore(client: fixture.identity.database.client, logger: logs.logger("api"))
            #expect(try await catalog.get("meter-a")?.status == "revoked")
            #expect(try await catalog.get("meter-b")?.status == "unknown")
            // A's client knows why: the broker refused its certificate (not a network fault).
            #expect(alerted(), "\(refusals())")
            #expect(logs.all.contains { $0.contains("the broker refused this client's certificate") })
            // The broker ended A's session by takeover, then refused A's certificate at the handshake.
            #expect(fixture.process.log.contains("Client meter-a already connected, closing old connection"))
            #expect(fixture.process.log.contains("certificate verify failed") || fixture.process.log.contains("certificate revoked"))

            let keys = try ["meter-a", "meter-b"].map {
                try String(contentsOfFile: fixture.identity.directory.file("device-\($0)/device.key"), encoding: .utf8)
            }
            #expect(logs.leaks(keys).isEmpty)
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
        for client in clients { await client.shutdown() }
        await fixture.stop()
    }
}
