import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostAgent
import OutpostMQTT

/// A device moved between brokers learns the new one from its renewal, keeps it across
/// restarts in its state directory, and an operator's later edit of agent.json wins.
@Suite("Broker redirect after a renewal")
struct BrokerRedirectTests {
    static let configured = BrokerSettings(host: "mqtt-a.example", port: 8883, caFile: "/ca", certFile: "/c", keyFile: "/k")

    @Test("a renewal naming another broker redirects; naming agent.json's broker clears it")
    func redirect() throws {
        #expect(BrokerRedirect.after(renewal: .init(host: "mqtt-a.example", port: 8883), configured: Self.configured) == nil)
        let redirect = try #require(BrokerRedirect.after(renewal: .init(host: "mqtt-b.example", port: 8884), configured: Self.configured))
        let applied = redirect.apply(to: Self.configured)
        #expect(applied.host == "mqtt-b.example" && applied.port == 8884 && applied.certFile == "/c")
        // agent.json edited since: the operator's broker wins.
        var edited = Self.configured
        edited.host = "mqtt-c.example"
        #expect(redirect.apply(to: edited) == edited)
    }

    @Test("RenewedConnection points the next client at the renewal's broker and keeps it for a restart")
    func persisted() throws {
        let directory = try TemporaryDirectory(prefix: "outpost-redirect")
        defer { directory.remove() }
        let logger = Logger(label: "test.redirect")
        let connection = RenewedConnection(configured: Self.configured, stateDir: directory.path)
        #expect(connection.brokerSettings == Self.configured)
        #expect(connection.renewed(broker: .init(host: "mqtt-b.example", port: 8884), logger: logger))
        #expect(connection.brokerSettings.host == "mqtt-b.example" && connection.brokerSettings.port == 8884)
        let attributes = try FileManager.default.attributesOfItem(atPath: BrokerRedirect.file(stateDir: directory.path))
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        // A restart reads it back.
        let restarted = RenewedConnection(configured: Self.configured, stateDir: directory.path)
        #expect(restarted.brokerSettings.host == "mqtt-b.example")
        // The same broker again is no move; moving back to agent.json's broker removes the file.
        #expect(!restarted.renewed(broker: .init(host: "mqtt-b.example", port: 8884), logger: logger))
        #expect(restarted.renewed(broker: .init(host: "mqtt-a.example", port: 8883), logger: logger))
        #expect(restarted.brokerSettings == Self.configured)
        #expect(!FileManager.default.fileExists(atPath: BrokerRedirect.file(stateDir: directory.path)))
    }
}
