import Crypto
import Foundation
import X509

/// A certificate for a key made here, for the centre's own servers and services: issued by the
/// CA, recorded (so it can be listed and revoked), and written as two PEM files, the key with
/// `keyMode` and the certificate world-readable.
enum IssuedFiles {
    static func issue(_ authority: CertificateAuthority, store: CertificatesStore, commonName: String, usage: CertificateAuthority.Usage,
                      lifetime: Duration, purpose: String, certificate: String, key: String,
                      keyMode: mode_t = 0o600, keyGroup: gid_t? = nil) async throws -> Certificate {
        let privateKey = P256.Signing.PrivateKey()
        let issued = try authority.issue(commonName: commonName, publicKey: .init(privateKey.publicKey), usage: usage, lifetime: lifetime)
        try await store.recordCertificate(EnrollmentService.record(issued, device: nil, purpose: purpose), notBefore: issued.notValidBefore)
        try IdentityFiles.write(privateKey.pemRepresentation, to: key, mode: keyMode, group: keyGroup)
        try IdentityFiles.write(try CertificateAuthority.pem(issued), to: certificate, mode: 0o644)
        return issued
    }
}
