import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostSupport
import OutpostWire
import Testing
import TestHarness
import X509

/// Renewal against the real config endpoint and PostgreSQL: an attempt that got its
/// certificate but could not install it is finished by the next attempt without a second
/// certificate, and `renewNow()` (what SIGUSR1 from `outpost-agent renew` calls) renews at once.
@Suite("Renewal retries and renew-now over HTTPS with PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct RenewalRetryTests {
    @Test("a certificate issued but not installed is installed by the retry: one certificate at the centre, not two")
    func retryInstallsWhatWasIssued() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let token = try await fixture.makeToken(device: "meter-retry")
            let directory = fixture.directory.file("device")
            let enrolled = try await Enrollment(server: fixture.serverURL, token: token.printed, configDirectory: directory).run()
            let configuration = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: directory + "/agent.json")
            let renewer = try #require(CertificateRenewer(configuration: configuration, logger: fixture.logs.logger("agent.renewer")))
            let credentials = renewer.credentials

            // The first attempt: pending key written, certificate issued and kept, then the install never happened.
            let key = try credentials.pendingKey()
            let csr = try DeviceCredentials.signingRequest(device: renewer.device, key: key)
            let caPEM = Array(try #require(FileManager.default.contents(atPath: credentials.caFile)))
            let issued = try await renewer.client.renew(RenewRequest(csr: csr), trusting: caPEM, certificateFile: credentials.certificateFile,
                                                        keyFile: credentials.keyFile)
            try credentials.keepPending(issued)
            #expect(try await fixture.certificateCount(device: "meter-retry") == 2)
            #expect(try credentials.currentCertificate().serialNumber.hex == enrolled.serial)

            // The retry installs that certificate and asks for nothing.
            let retried = try await renewer.renewOnce()
            #expect(retried.serial == issued.serial)
            #expect(try credentials.currentCertificate().serialNumber.hex == issued.serial)
            #expect(try credentials.currentCertificate().publicKey == key.publicKey)
            #expect(try await fixture.certificateCount(device: "meter-retry") == 2)
            #expect(access(credentials.pendingKeyFile, F_OK) != 0 && access(credentials.pendingCertificateFile, F_OK) != 0)

            // A later renewal makes a new key and a third certificate.
            let next = try await renewer.renewOnce()
            #expect(next.serial != issued.serial)
            #expect(try await fixture.certificateCount(device: "meter-retry") == 3)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test("renewNow() renews a running renewer long before its schedule")
    func renewNow() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let token = try await fixture.makeToken(device: "meter-now")
            let directory = fixture.directory.file("device")
            let enrolled = try await Enrollment(server: fixture.serverURL, token: token.printed, configDirectory: directory).run()
            let configuration = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: directory + "/agent.json")
            let renewer = try #require(CertificateRenewer(configuration: configuration, logger: fixture.logs.logger("agent.renewer")))
            let running = Task { try await renewer.run() }
            var installed = renewer.installed.makeAsyncIterator()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await fixture.certificateCount(device: "meter-now") == 1)
            renewer.renewNow()
            let first = await installed.next()
            running.cancel()
            let renewed = try #require(first)
            #expect(renewed.serial != enrolled.serial)
            #expect(try renewer.credentials.currentCertificate().serialNumber.hex == renewed.serial)
            #expect(try await fixture.certificateCount(device: "meter-now") == 2)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}
