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
import OutpostWire
import ServiceLifecycle

/// Keeps the device certificate fresh: a `Service` the agent's run loop hosts.
///
/// It sleeps until ``RenewalPolicy`` says to renew (or ``renewNow()``: `outpost-agent renew`
/// sends SIGUSR1), writes a new key to a pending file, asks the config endpoint over mutual
/// TLS (the current certificate proves who it is), keeps the answer beside the key, installs
/// key and certificate atomically, and then yields on ``installed``. The MQTT publisher
/// listens there and reconnects with the new files; the old certificate stays valid until it
/// expires, so the switch loses nothing. Failures are retried with backoff and logged
/// without key material; a retry reuses the pending key and an already issued certificate,
/// so failed installs never pile up certificates at the centre.
public struct CertificateRenewer: Service {
    /// A certificate that was just installed.
    public struct Installed: Sendable, Equatable {
        public var serial: String
        public var notAfter: Date
        /// The broker the centre assigns the device now (it changes when the device is moved).
        public var broker: CertificateResponse.Broker
    }

    public let device: DeviceID
    public let client: ConfigEndpointClient
    public let credentials: DeviceCredentials
    public let policy: RenewalPolicy
    public let logger: Logger
    /// One element per installed certificate; finishes when the service stops.
    public let installed: AsyncStream<Installed>
    private let continuation: AsyncStream<Installed>.Continuation
    private let renewRequested = Wakeup()

    public init(device: DeviceID, serverURL: String, credentials: DeviceCredentials, policy: RenewalPolicy = RenewalPolicy(),
                logger: Logger) {
        self.device = device
        self.client = ConfigEndpointClient(server: serverURL)
        self.credentials = credentials
        self.policy = policy
        self.logger = logger
        (installed, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(8))
    }

    public func run() async throws {
        defer { continuation.finish() }
        await cancelWhenGracefulShutdown {
            await loop()
        }
    }

    /// Renews at once instead of waiting for the schedule (or for the next retry).
    public func renewNow() { renewRequested.signal() }

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
                    await renewRequested.wait(timeout: .milliseconds(Int64(due.timeIntervalSinceNow * 1000)))
                    if Task.isCancelled { return }
                }
                let result = try await renewOnce()
                failures = 0
                continuation.yield(result)
                continue
            } catch {
                failures += 1
                let notAfter = (try? credentials.currentCertificate().notValidAfter) ?? Date()
                let refusedAsRevoked = (error as? EnrollmentError)?.serverCode == "revoked"
                wait = refusedAsRevoked ? policy.maximumRetry : policy.retryDelay(attempt: failures, now: Date(), notAfter: notAfter)
                if refusedAsRevoked {
                    logger.error("certificate renewal refused: the centre has revoked this device; enroll it again with a new token",
                                 metadata: ["error": "\(error)", "attempt": "\(failures)", "retry_in": "\(wait)"])
                } else {
                    logger.warning("certificate renewal failed", metadata: [
                        "error": "\(error)", "attempt": "\(failures)", "retry_in": "\(wait)",
                    ])
                }
            }
            await renewRequested.wait(timeout: wait)
        }
    }

    /// One renewal now: the pending key (written before anything is sent), its CSR, the
    /// mutual-TLS request unless an earlier attempt already got a certificate for that key,
    /// then the atomic install.
    public func renewOnce() async throws -> Installed {
        let caPEM: [UInt8]
        guard let data = FileManager.default.contents(atPath: credentials.caFile) else {
            throw EnrollmentError(.credentialsUnreadable, "cannot read the CA \(credentials.caFile)")
        }
        caPEM = Array(data)
        let key = try credentials.pendingKey()
        let response: CertificateResponse
        if let issued = credentials.pendingResponse(for: key) {
            logger.info("installing the certificate issued by an earlier attempt", metadata: ["serial": "\(issued.serial)"])
            response = issued
        } else {
            let csr = try DeviceCredentials.signingRequest(device: device, key: key)
            response = try await client.renew(RenewRequest(csr: csr), trusting: caPEM, certificateFile: credentials.certificateFile,
                                              keyFile: credentials.keyFile)
            try credentials.keepPending(response)
        }
        let certificate = try credentials.install(response, key: key, device: device)
        logger.notice("certificate renewed", metadata: ["serial": "\(response.serial)", "not_after": "\(certificate.notValidAfter)"])
        return Installed(serial: response.serial, notAfter: certificate.notValidAfter, broker: response.broker)
    }
}
