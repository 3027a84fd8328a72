import Crypto
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
import X509

/// A device's key and the files that hold its identity: `device.key` (0600, or 0640 to a
/// group), `device.pem` and `ca.pem` (0644), all written atomically.
public struct DeviceCredentials: Sendable {
    public let keyFile: String
    public let certificateFile: String
    public let caFile: String
    /// Group that may read the key (mode 0640); nil keeps it owner-only (0600).
    public let keyGroup: gid_t?

    public init(keyFile: String, certificateFile: String, caFile: String, keyGroup: gid_t? = nil) {
        self.keyFile = keyFile
        self.certificateFile = certificateFile
        self.caFile = caFile
        self.keyGroup = keyGroup
    }

    /// The group that may read an existing key file (mode 0640), so renewal keeps what enrollment chose.
    public static func readingGroup(of keyFile: String) -> gid_t? {
        var info = stat()
        guard stat(keyFile, &info) == 0, info.st_mode & 0o040 != 0 else { return nil }
        return info.st_gid
    }

    /// A fresh P-256 key, made on this device; it never leaves it.
    public static func makeKey() -> P256.Signing.PrivateKey { P256.Signing.PrivateKey() }

    /// A PEM CSR with CN `device`, signed by `key`.
    public static func signingRequest(device: DeviceID, key: P256.Signing.PrivateKey) throws(EnrollmentError) -> String {
        do {
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName(device.rawValue) }, privateKey: Certificate.PrivateKey(key),
                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
            return try csr.serializeAsPEM().pemString
        } catch {
            throw EnrollmentError(.invalidArgument, "cannot build the CSR: \(error)")
        }
    }

    /// Checks that `response` certifies `key` for `device`, then installs key, certificate and CA.
    /// Returns the installed certificate.
    @discardableResult
    public func install(_ response: CertificateResponse, key: P256.Signing.PrivateKey, device: DeviceID) throws(EnrollmentError)
        -> Certificate
    {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: response.certificate)
            _ = try Certificate(pemEncoded: response.caCertificate)
        } catch {
            throw EnrollmentError(.badResponse, "the server's certificate is not valid PEM")
        }
        let names = certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey), names == [device.rawValue] else {
            throw EnrollmentError(.badResponse, "the server's certificate is not for this device's key")
        }
        do {
            try SecureFile.write(key.pemRepresentation, to: keyFile, mode: keyGroup == nil ? 0o600 : 0o640, group: keyGroup)
            try SecureFile.write(response.certificate, to: certificateFile, mode: 0o644)
            try SecureFile.write(response.caCertificate, to: caFile, mode: 0o644)
        } catch {
            throw EnrollmentError(.fileWriteFailed, error.description)
        }
        return certificate
    }

    /// The installed certificate, for the renewal schedule.
    public func currentCertificate() throws(EnrollmentError) -> Certificate {
        do {
            return try Certificate(pemEncoded: try String(contentsOfFile: certificateFile, encoding: .utf8))
        } catch {
            throw EnrollmentError(.credentialsUnreadable, "cannot read the certificate \(certificateFile)")
        }
    }
}
