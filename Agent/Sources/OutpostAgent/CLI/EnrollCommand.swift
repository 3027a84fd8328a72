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
import OutpostSupport

extension AgentCommand {
    /// `outpost-agent enroll --server URL --token TOKEN`: turns this host into a trusted device.
    ///
    /// Run as root with the defaults it produces the packaged layout (docs/identity.md, "Files"):
    /// `/etc/outpost/agent.json` for the operator, the key and certificates in
    /// `/var/lib/outpost/credentials` owned by the `outpost` service user, which replaces them on
    /// renewal; then it enables and starts `outpost-agent.service` on a systemd host.
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll",
            abstract: "Enroll this device: make its key, get its certificate, write its configuration, start the service.")

        static let packagedConfigDirectory = "/etc/outpost"
        static let packagedCredentialsDirectory = "/var/lib/outpost/credentials"
        static let unit = "outpost-agent.service"

        @Option(help: "The aggregator's config endpoint, e.g. https://aggregator.example.net:8443.") var server: String
        @Option(help: "The one-time token from `outpost-aggregator token create`.") var token: String
        @Option(help: "SHA-256 fingerprint of the fleet CA, if given separately; must match the token's.") var caFingerprint: String?
        @Option(help: "Directory for agent.json.") var configDir: String = Self.packagedConfigDirectory
        @Option(help: ArgumentHelp("Directory for device.key, device.pem and ca.pem (mode 0700).",
                                   discussion: "Defaults to /var/lib/outpost/credentials with the default --config-dir, else --config-dir."))
        var credentialsDir: String?
        @Option(help: "Service user that owns the credentials directory when run as root (it renews them).") var user: String = "outpost"
        @Option(help: "Group allowed to read the key (mode 0640); by default only the owner (0600).") var keyGroup: String?
        @Flag(help: "Also collect a simulated AC energy meter every second (a new agent.json only).") var meter = false
        @Option(help: "A FIFO an H.264 encoder writes to, offered as the stream `camera` (a new agent.json only).")
        var cameraFifo: String?
        @Flag(help: "Do not enable and start outpost-agent.service.") var noStart = false

        func run() async throws {
            var group: gid_t?
            if let keyGroup {
                guard let entry = getgrnam(keyGroup) else { fail(EnrollmentError(.invalidArgument, "no group \(keyGroup)")) }
                group = entry.pointee.gr_gid
            }
            let credentialsDirectory = credentialsDir
                ?? (configDir == Self.packagedConfigDirectory ? Self.packagedCredentialsDirectory : configDir)
            // Credentials kept apart from the configuration belong to the service user, which replaces them on renewal.
            var owner: DeviceCredentials.Owner?
            if geteuid() == 0 && credentialsDirectory != configDir {
                owner = DeviceCredentials.Owner.named(user)
                if owner == nil && user != "outpost" { fail(EnrollmentError(.invalidArgument, "no user \(user)")) }
            }
            let enrollment = Enrollment(server: server, token: token, caFingerprint: caFingerprint, configDirectory: configDir,
                                        credentialsDirectory: credentialsDirectory, keyGroup: group, owner: owner,
                                        defaultSources: Enrollment.sources(meter: meter),
                                        defaultStreams: cameraFifo.map { ["camera": StreamSource.fifo(path: $0).json] } ?? [:])
            do {
                let response = try await enrollment.run()
                let expiry = Date.ISO8601FormatStyle().format(Date(timeIntervalSince1970: TimeInterval(response.notAfter)))
                print("enrolled \(response.deviceId): certificate \(response.serial) valid until \(expiry); "
                      + "broker \(response.broker.host):\(response.broker.port); config \(enrollment.configFile)")
                print("credentials: \(credentialsDirectory)" + (owner != nil ? " (owned by \(user), which renews them)" : ""))
            } catch {
                fail(error)
            }
            print(await startService())
        }

        /// Enables and (re)starts the unit when this is the packaged layout on a systemd host; says what it did.
        private func startService() async -> String {
            let manual = "start it with: systemctl enable --now \(Self.unit)"
            if noStart { return "service: not started (--no-start); \(manual)" }
            guard configDir == Self.packagedConfigDirectory else {
                return "service: not started (the unit reads \(Self.packagedConfigDirectory)/agent.json); "
                    + "run: outpost-agent run --config \(Enrollment.join(configDir, "agent.json"))"
            }
            guard geteuid() == 0, access("/run/systemd/system", F_OK) == 0 else {
                return "service: not started (not root on a systemd host); \(manual)"
            }
            // restart, not start: a host enrolled again must load its new certificate.
            for verb in ["enable", "restart"] {
                let outcome = try? await ChildProcess.run(["/usr/bin/systemctl", verb, Self.unit], timeout: .seconds(60), maxOutputBytes: 65_536)
                guard let outcome, outcome.exitStatus == 0 else {
                    let status = outcome?.exitStatus.map { "exit \($0)" } ?? "did not finish"
                    StandardStream.error.write("enroll: systemctl \(verb) \(Self.unit) failed (\(status)); see systemctl status \(Self.unit)\n")
                    Glibc.exit(8)
                }
            }
            return "service: \(Self.unit) enabled and started"
        }

        private func fail(_ error: EnrollmentError) -> Never {
            StandardStream.error.write("enroll failed: \(error)\n")
            Glibc.exit(error.code.exitStatus)
        }
    }
}
