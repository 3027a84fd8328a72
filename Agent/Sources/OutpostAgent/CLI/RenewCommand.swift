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
import Logging
import OutpostSupport

extension AgentCommand {
    /// `outpost-agent renew`: renew the device certificate now instead of at two thirds of its lifetime.
    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew",
            abstract: "Renew the device certificate now. A running agent renews it itself (SIGUSR1) and reconnects.")

        @Option(help: "Configuration file.")
        var config: String = AgentConfiguration.defaultPath

        @Option(help: "Seconds to wait for the running agent to install the new certificate.")
        var timeout: Int = 60

        func run() async throws {
            let loaded = try AgentConfiguration.loadForCommand(path: config)
            guard let renewer = CertificateRenewer(configuration: loaded, logger: Logger(label: "agent.renewal")) else {
                fail("\(config) has no enrollment section: this host was not enrolled with `outpost-agent enroll`")
            }
            let before = try? renewer.credentials.currentCertificate().serialNumber.description
            if let status = try? AgentStatus.read(stateDir: loaded.stateDir), status.isWriterRunning, status.connection != "stopped" {
                guard kill(status.pid, RenewalSignal.signal.rawValue) == 0 else {
                    fail("cannot signal the running agent (pid \(status.pid)): \(String(cString: strerror(errno)))")
                }
                let deadline = ContinuousClock.now + .seconds(timeout)
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    if let current = try? renewer.credentials.currentCertificate(), current.serialNumber.description != before {
                        print("renewed by the running agent (pid \(status.pid)): certificate \(current.serialNumber) "
                              + "valid until \(Self.iso(current.notValidAfter))")
                        return
                    }
                }
                fail("the running agent (pid \(status.pid)) installed no new certificate within \(timeout) s; "
                     + "its log says why (journalctl -u outpost-agent)")
            }
            do {
                let installed = try await renewer.renewOnce()
                print("renewed: certificate \(installed.serial) valid until \(Self.iso(installed.notAfter)) (no agent running)")
            } catch {
                fail("\(error)")
            }
        }

        private static func iso(_ date: Date) -> String { Date.ISO8601FormatStyle().format(date) }

        private func fail(_ message: String) -> Never {
            StandardStream.error.write("renew failed: \(message)\n")
            Glibc.exit(1)
        }
    }
}
