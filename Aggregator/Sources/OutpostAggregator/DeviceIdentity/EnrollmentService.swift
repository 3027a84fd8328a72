import Crypto
import Foundation
import Logging
import OutpostWire
import X509

/// Enrollment and renewal, independent of HTTP: the routes decode and encode, this decides.
///
/// Nothing is issued unless every check passed and the bookkeeping committed: a refused or
/// failed request leaves no certificate behind, and a consumed token names the serial it bought.
public struct EnrollmentService: Sendable {
    public let authority: CertificateAuthority
    public let certificates: CertificatesStore
    public let enrollmentTokens: EnrollmentTokensStore
    public let certificateLifetime: Duration
    /// The broker given to every device when ``directory`` is nil.
    public let broker: CertificateResponse.Broker
    /// Each device's own broker (hash and override) when there is one; nil: ``broker``.
    public let directory: BrokerDirectory?
    public let initialConfig: CertificateResponse.InitialConfig
    public let logger: Logger

    public init(authority: CertificateAuthority, certificates: CertificatesStore, enrollmentTokens: EnrollmentTokensStore,
                certificateLifetime: Duration, broker: CertificateResponse.Broker,
                initialConfig: CertificateResponse.InitialConfig, directory: BrokerDirectory? = nil, logger: Logger) {
        self.authority = authority
        self.directory = directory
        self.certificates = certificates
        self.enrollmentTokens = enrollmentTokens
        self.certificateLifetime = certificateLifetime
        self.broker = broker
        self.initialConfig = initialConfig
        self.logger = logger
    }

    public init(configuration: AggregatorConfiguration, authority: CertificateAuthority, certificates: CertificatesStore,
                enrollmentTokens: EnrollmentTokensStore, logger: Logger) {
        self.init(authority: authority, certificates: certificates, enrollmentTokens: enrollmentTokens,
                  certificateLifetime: .seconds(configuration.identity.certificateLifetimeSeconds),
                  broker: configuration.deviceBroker,
                  initialConfig: .init(keepalive: configuration.identity.deviceKeepalive, verifyHostname: true),
                  directory: BrokerDirectory(configuration: configuration, client: certificates.client, logger: logger), logger: logger)
    }

    /// The hex SHA-256 under which a token's secret is stored.
    public static func tokenHash(_ token: EnrollmentToken) -> String {
        SHA256.hash(data: token.secret.value).map { String(format: "%02x", $0) }.joined()
    }

    /// `POST /api/v1/enroll`.
    public func enroll(_ request: EnrollRequest, now: Date = Date()) async throws -> CertificateResponse {
        guard let token = EnrollmentToken(request.token) else { throw IdentityError(.invalidToken, "not an Outpost enrollment token") }
        guard token.caFingerprint == authority.fingerprint else {
            throw IdentityError(.invalidToken, "the token was made for another CA")
        }
        let hash = Self.tokenHash(token)
        guard let record = try await enrollmentTokens.token(hash: hash), record.deviceID == token.device.rawValue else {
            throw IdentityError(.invalidToken, "no such token")
        }
        if record.usedAt != nil { throw IdentityError(.tokenUsed, "the token was used already") }
        if record.expiresAt <= now { throw IdentityError(.tokenExpired, "the token expired") }
        let csr = try CSRValidator.validate(pem: request.csr)
        guard csr.commonName == record.deviceID else {
            throw IdentityError(.subjectMismatch, "the CSR names \(csr.commonName.prefix(64)), the token \(record.deviceID)")
        }
        let address = try await brokerAddress(for: record.deviceID)
        let certificate = try authority.issue(commonName: record.deviceID, publicKey: csr.publicKey, usage: .client,
                                              lifetime: certificateLifetime, now: now)
        try await enrollmentTokens.consumeToken(hash: hash, certificate: Self.record(certificate, device: record.deviceID), notBefore: certificate.notValidBefore)
        logger.info("device enrolled", metadata: [
            "device": "\(record.deviceID)", "serial": "\(certificate.serialNumber.hex)", "not_after": "\(certificate.notValidAfter)",
        ])
        return try response(certificate, device: record.deviceID, broker: address)
    }

    /// `POST /api/v1/renew`, for the client certificate the TLS layer verified.
    public func renew(_ request: RenewRequest, clientCertificate: Certificate?, now: Date = Date()) async throws -> CertificateResponse {
        guard let clientCertificate else {
            throw IdentityError(.certificateRequired, "renewal needs the device's current certificate (mutual TLS)")
        }
        guard clientCertificate.issuer == authority.certificate.subject,
              let record = try await certificates.certificate(serial: clientCertificate.serialNumber.hex),
              record.purpose == "device", let device = record.deviceID
        else {
            throw IdentityError(.unknownCertificate, "the client certificate is not a device certificate of this CA")
        }
        guard clientCertificate.notValidAfter > now else { throw IdentityError(.unknownCertificate, "the client certificate expired") }
        guard record.revokedAt == nil, record.deviceRevokedAt == nil else {
            throw IdentityError(.revoked, "device \(device) is revoked")
        }
        let csr = try CSRValidator.validate(pem: request.csr)
        guard csr.commonName == device else {
            throw IdentityError(.subjectMismatch, "the CSR names \(csr.commonName.prefix(64)), the certificate \(device)")
        }
        let address = try await brokerAddress(for: device)
        let certificate = try authority.issue(commonName: device, publicKey: csr.publicKey, usage: .client,
                                              lifetime: certificateLifetime, now: now)
        try await certificates.recordCertificate(Self.record(certificate, device: device), notBefore: certificate.notValidBefore)
        logger.info("device certificate renewed", metadata: [
            "device": "\(device)", "serial": "\(certificate.serialNumber.hex)", "previous_serial": "\(record.serial)",
            "not_after": "\(certificate.notValidAfter)",
        ])
        return try response(certificate, device: device, broker: address)
    }

    static func record(_ certificate: Certificate, device: String?, purpose: String = "device") -> CertificatesStore.CertificateRecord {
        let commonName = certificate.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }.flatMap { String($0.value) }
        return .init(serial: certificate.serialNumber.hex, subject: commonName ?? device ?? "", deviceID: device, purpose: purpose,
                     notAfter: certificate.notValidAfter)
    }

    /// The broker `device` is told to use, looked up before anything is issued.
    private func brokerAddress(for device: String) async throws -> CertificateResponse.Broker {
        try await directory?.address(for: device) ?? broker
    }

    private func response(_ certificate: Certificate, device: String, broker: CertificateResponse.Broker) throws -> CertificateResponse {
        CertificateResponse(
            deviceId: device, certificate: try CertificateAuthority.pem(certificate), caCertificate: authority.certificatePEM,
            serial: certificate.serialNumber.hex, notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970), broker: broker,
            config: initialConfig)
    }
}
