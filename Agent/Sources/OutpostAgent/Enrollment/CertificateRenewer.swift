import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostCommon
import ServiceLifecycle
import X509

/// Keeps the device certificate fresh: a `Service` the agent's run loop hosts.
///
/// It sleeps until ``RenewalPolicy`` says to renew, makes a new key, asks the config
/// endpoint over mutual TLS (the current certificate proves who it is), installs key and
/// certificate atomically, and then yields on ``installed``. The MQTT publisher listens
/// there and reconnects with the new files; the old certificate stays valid until it
/// expires, so the switch loses nothing. Failures are retried with backoff and logged
/// without key material.
public struct CertificateRenewer: Service {
    /// A certificate that was just installed.
    public struct Installed: Sendable, Equatable {
        public var serial: String
        public var notAfter: Date
    }

    public let device: DeviceID
    public let client: ConfigEndpointClient
    public let credentials: DeviceCredentials
    public let policy: RenewalPolicy
    public let logger: Logger
    /// One element per installed certificate; finishes when the service stops.
    public let installed: AsyncStream<Installed>
    private let continuation: AsyncStream<Installed>.Continuation

    public init(device: DeviceID, serverURL: String, credentials: DeviceCredentials, policy: RenewalPolicy = RenewalPolicy(),
                logger: Logger) {
        self.device = device
        self.client = ConfigEndpointClient(server: serverURL)
        self.credentials = credentials
        self.policy = policy
        self.logger = logger
        (installed, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(8))
    }

    /// Builds the renewer from `agent.json`; nil when it has no `enrollment` section.
    public init?(configuration: AgentConfiguration, policy: RenewalPolicy = RenewalPolicy(), logger: Logger) {
        guard let enrollment = configuration.enrollment else { return nil }
        self.init(device: configuration.deviceID, serverURL: enrollment.serverUrl,
                  credentials: DeviceCredentials(keyFile: configuration.mqtt.keyFile, certificateFile: configuration.mqtt.certFile,
                                                 caFile: configuration.mqtt.caFile,
                                                 keyGroup: DeviceCredentials.readingGroup(of: configuration.mqtt.keyFile)),
                  policy: policy, logger: logger)
    }

    public func run() async throws {
        defer { continuation.finish() }
        await cancelWhenGracefulShutdown {
            await loop()
        }
    }

    private func loop() async {
        var failures = 0
        while !Task.isCancelled {
            let wait: Duration
            do {
                let current = try credentials.currentCertificate()
                let due = policy.renewalDate(notBefore: current.notValidBefore, notAfter: current.notValidAfter,
                                             random: Double.random(in: -1...1))
                if failures == 0 && due > Date() {
                    logger.info("certificate renewal scheduled", metadata: [
                        "serial": "\(current.serialNumber)", "renew_at": "\(due)", "not_after": "\(current.notValidAfter)",
                    ])
                    try await Task.sleep(for: .milliseconds(Int64(due.timeIntervalSinceNow * 1000)))
                }
                let result = try await renewOnce()
                failures = 0
                continuation.yield(result)
                continue
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                let notAfter = (try? credentials.currentCertificate().notValidAfter) ?? Date()
                wait = policy.retryDelay(attempt: failures, now: Date(), notAfter: notAfter)
                logger.warning("certificate renewal failed", metadata: [
                    "error": "\(error)", "attempt": "\(failures)", "retry_in": "\(wait)",
                ])
            }
            do { try await Task.sleep(for: wait) } catch { return }
        }
    }

    /// One renewal now: new key, CSR, mutual-TLS request, atomic install.
    public func renewOnce() async throws -> Installed {
        let caPEM: [UInt8]
        guard let data = FileManager.default.contents(atPath: credentials.caFile) else {
            throw EnrollmentError(.credentialsUnreadable, "cannot read the CA \(credentials.caFile)")
        }
        caPEM = Array(data)
        let key = DeviceCredentials.makeKey()
        let csr = try DeviceCredentials.signingRequest(device: device, key: key)
        let response = try await client.renew(RenewRequest(csr: csr), trusting: caPEM, certificateFile: credentials.certificateFile,
                                              keyFile: credentials.keyFile)
        let certificate = try credentials.install(response, key: key, device: device)
        logger.notice("certificate renewed", metadata: ["serial": "\(response.serial)", "not_after": "\(certificate.notValidAfter)"])
        return Installed(serial: response.serial, notAfter: certificate.notValidAfter)
    }
}
