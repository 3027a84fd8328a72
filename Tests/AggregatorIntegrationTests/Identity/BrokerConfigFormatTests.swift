import Foundation
import OutpostAggregator
import OutpostWire
import Testing
import TestHarness

@Suite("broker-config --format emqx", .timeLimit(.minutes(2)))
struct BrokerConfigFormatTests {
    @Test("emqx: acl.conf with this aggregator's service rules, the same certificates and CRL, no mosquitto files")
    func emqx() async throws {
        let identity = try await IdentityFixture()
        do {
            let directory = identity.directory.file("emqx")
            identity.configuration.identity.brokerDir = directory
            identity.configuration.identity.brokerPidFile = directory + "/broker.pid"
            var options = BrokerConfigGenerator.Options()
            options.format = .emqx
            options.extraServices = ["svc.aggregator.b"]
            let output = try await BrokerConfigGenerator(
                authority: identity.authority, store: identity.certificates, revocation: BrokerFixture.revocation(identity),
                serviceIdentity: identity.configuration.serviceIdentity
            ).write(to: directory, options: options)
            #expect(output.configFile == directory + "/acl.conf")
            let acl = try String(contentsOfFile: output.configFile, encoding: .utf8)
            #expect(acl == BrokerACL(serviceIdentities: [identity.configuration.serviceIdentity, "svc.aggregator.b"]).renderEMQX())
            #expect(acl.contains(#"{allow, {username, "\#(identity.configuration.serviceIdentity)"}, subscribe, ["outpost/v1/+/telemetry""#))
            #expect(acl.hasSuffix("{deny, all}.\n"))
            for file in ["ca.pem", "server.pem", "server.key", "aggregator.pem", "aggregator.key"] {
                #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file) missing")
            }
            #expect(FileManager.default.fileExists(atPath: identity.configuration.crlFile))
            #expect(!FileManager.default.fileExists(atPath: directory + "/mosquitto.conf"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/acl"))
        } catch {
            await identity.stop()
            throw error
        }
        await identity.stop()
    }
}
