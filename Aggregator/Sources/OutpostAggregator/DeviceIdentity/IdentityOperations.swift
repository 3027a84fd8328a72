import Foundation
import OutpostWire

/// What the admin API and the CLI need to change identities: the same token issuer as
/// `token create` and the same revocation as `cert revoke`, each audited in one place
/// whichever side calls it. Absent from the API when the aggregator has no CA; the routes
/// that need it then answer 503 `ca_unavailable`.
public struct IdentityOperations: Sendable {
    let tokens: EnrollmentTokenIssuer
    let revocation: Revocation

    public init(tokens: EnrollmentTokenIssuer, revocation: Revocation) {
        self.tokens = tokens
        self.revocation = revocation
    }

    public init(configuration: AggregatorConfiguration, authority: CertificateAuthority, certificates: CertificatesStore,
                enrollmentTokens: EnrollmentTokensStore) {
        self.init(tokens: EnrollmentTokenIssuer(configuration: configuration, authority: authority, store: enrollmentTokens,
                                                logger: enrollmentTokens.logger),
                  revocation: Revocation(configuration: configuration, authority: authority, store: certificates, logger: certificates.logger))
    }

    /// Creates a one-time enrollment token; audited as `enrollment_token.create`.
    public func createToken(device: DeviceID, kind: String, lifetime: Duration?, origin: AuditLog.Origin, audit: AuditLog) async throws
        -> EnrollmentTokenIssuer.Issued
    {
        let issued = try await tokens.create(device: device, kind: kind, lifetime: lifetime)
        try await audit.record("enrollment_token.create", target: "device:\(device)",
                               detail: ["token_id": issued.hash, "kind": issued.kind,
                                        "expires_at": ISO8601DateFormatter().string(from: issued.expiresAt)],
                               origin: origin)
        return issued
    }

    /// Creates one-time tokens for many devices in one transaction (bulk provisioning, the
    /// simulator); audited once as `enrollment_token.create_batch` with the count and the range.
    public func createTokens(devices: [DeviceID], kind: String, lifetime: Duration?, origin: AuditLog.Origin, audit: AuditLog) async throws
        -> [EnrollmentTokenIssuer.Issued]
    {
        let issued = try await tokens.createBatch(devices: devices, kind: kind, lifetime: lifetime)
        try await audit.record("enrollment_token.create_batch", target: "device:\(devices.first.map(\.rawValue) ?? "")",
                               detail: ["count": "\(issued.count)", "first": devices.first.map(\.rawValue) ?? "",
                                        "last": devices.last.map(\.rawValue) ?? "", "kind": kind,
                                        "expires_at": issued.first.map { ISO8601DateFormatter().string(from: $0.expiresAt) } ?? ""],
                               origin: origin)
        return issued
    }

    /// Revokes every certificate of `device` (see ``Revocation``); audited as `device.certificates_revoke`.
    public func revokeCertificates(device: DeviceID, origin: AuditLog.Origin, audit: AuditLog) async throws -> Revocation.Outcome {
        let outcome = try await revocation.revoke(device: device)
        try await audit.record("device.certificates_revoke", target: "device:\(device)",
                               detail: ["serials": outcome.revokedSerials.joined(separator: ","), "session_ended": "\(outcome.sessionEnded)"],
                               origin: origin)
        return outcome
    }
}
