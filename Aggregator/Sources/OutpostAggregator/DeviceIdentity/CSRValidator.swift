import Crypto
import X509

/// Checks a PEM CSR before anything is issued for it: it parses, its self-signature
/// verifies (the requester holds the key), its key is P-256, and its CN is a device id.
public enum CSRValidator {
    /// A CSR that passed every check.
    public struct Validated: Sendable {
        public let commonName: String
        public let publicKey: Certificate.PublicKey
    }

    public static func validate(pem: String) throws(IdentityError) -> Validated {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: pem)
        } catch {
            throw IdentityError(.malformedCSR, "the CSR is not a PEM PKCS#10 certificate request")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw IdentityError(.badSignature, "the CSR's signature does not verify with its own key")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw IdentityError(.unsupportedKey, "the CSR's key must be ECDSA P-256")
        }
        let names = csr.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
        guard names.count == 1, let commonName = names.first else {
            throw IdentityError(.subjectMismatch, "the CSR's subject must hold exactly one CN, the device id")
        }
        return Validated(commonName: commonName, publicKey: csr.publicKey)
    }
}
