import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import OutpostCommon

extension AgentCommand {
    /// `outpost-agent enroll --server URL --token TOKEN`: turns this host into a trusted device.
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll this device: make its key, get its certificate, write its configuration.")

        @Option(help: "The aggregator's config endpoint, e.g. https://aggregator.example.net:8443.") var server: String
        @Option(help: "The one-time token from `outpost-aggregator token create`.") var token: String
        @Option(help: "SHA-256 fingerprint of the fleet CA, if given separately; must match the token's.") var caFingerprint: String?
        @Option(help: "Directory for agent.json, device.key, device.pem and ca.pem.") var configDir: String = "/etc/outpost"
        @Option(help: "Group allowed to read the key (mode 0640); by default only the owner (0600).") var keyGroup: String?

        func run() async throws {
            var group: gid_t?
            if let keyGroup {
                guard let entry = getgrnam(keyGroup) else { fail(EnrollmentError(.invalidArgument, "no group \(keyGroup)")) }
                group = entry.pointee.gr_gid
            }
            let enrollment = Enrollment(server: server, token: token, caFingerprint: caFingerprint, configDirectory: configDir,
                                        keyGroup: group)
            do {
                let response = try await enrollment.run()
                let expiry = Date.ISO8601FormatStyle().format(Date(timeIntervalSince1970: TimeInterval(response.notAfter)))
                print("enrolled \(response.deviceId): certificate \(response.serial) valid until \(expiry); "
                      + "broker \(response.broker.host):\(response.broker.port); config \(enrollment.configFile)")
            } catch {
                fail(error)
            }
        }

        private func fail(_ error: EnrollmentError) -> Never {
            StandardStream.error.write("enroll failed: \(error)\n")
            Glibc.exit(error.code.exitStatus)
        }
    }
}
