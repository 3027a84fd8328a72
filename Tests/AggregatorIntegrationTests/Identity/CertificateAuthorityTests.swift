import Crypto
import Foundation
import OutpostAggregator
import OutpostWire
import SwiftASN1
import Testing
import TestHarness
import X509

@Suite("Certificate authority (no network)")
struct CertificateAuthorityTests {
    @Test("ca init makes a P-256 CA with a 0600 key and refuses to overwrite it")
    func initAndRefuseOverwrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let caDirectory = directory.file("ca")
        let authority = try CertificateAuthority.initialize(directory: caDirectory)
        #expect(try fileMode(caDirectory + "/ca.key") == 0o600)
        #expect(try fileMode(caDirectory + "/ca.pem") == 0o644)
        #expect(try fileMode(caDirectory) == 0o700)
        #expect(P256.Signing.PublicKey(authority.certificate.publicKey) != nil)
        #expect(try authority.certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))

        #expect(throws: IdentityError(.caExists, "")) { try CertificateAuthority.initialize(directory: caDirectory) }
        let loaded = try CertificateAuthority.load(directory: caDirectory)
        #expect(loaded.certificate == authority.certificate)
        #expect(loaded.fingerprint == authority.fingerprint)
        let replaced = try CertificateAuthority.initialize(directory: caDirectory, overwrite: true)
        #expect(replaced.fingerprint != authority.fingerprint)
    }

    @Test("the fingerprint is openssl's SHA-256 fingerprint of ca.pem")
    func fingerprintMatchesOpenSSL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.path)
        let output = try await runTool(locateTool("openssl"), ["x509", "-in", directory.file("ca.pem"), "-noout", "-fingerprint", "-sha256"])
        let printed = try #require(output.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(CertificateFingerprint(printed) == authority.fingerprint)
    }

    @Test("an issued device certificate passes openssl verify, with the configured subject, EKU and lifetime")
    func issuedCertificateVerifies() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.path)
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try authority.issue(commonName: "meter-0001", publicKey: .init(key.publicKey), usage: .client,
                                              lifetime: .seconds(7 * 86_400), now: now)
        let file = directory.file("device.pem")
        try certificate.serializeAsPEM().pemString.write(toFile: file, atomically: true, encoding: .utf8)
        let openssl = try locateTool("openssl")
        let verified = try await runTool(openssl, ["verify", "-purpose", "sslclient", "-CAfile", directory.file("ca.pem"), file])
        #expect(verified.contains(": OK"))
        let text = try await runTool(openssl, ["x509", "-in", file, "-noout", "-subject", "-ext", "extendedKeyUsage,keyUsage,basicConstraints"])
        #expect(text.contains("subject=CN = meter-0001") || text.contains("subject=CN=meter-0001"))
        #expect(text.contains("TLS Web Client Authentication"))
        #expect(!text.contains("Server Authentication"))
        #expect(text.contains("CA:FALSE"))
        let lifetime = certificate.notValidAfter.timeIntervalSince(now)
        #expect(abs(lifetime - 7 * 86_400) < 2)
        #expect(certificate.notValidBefore <= now)
    }

    @Test("the CRL verifies with openssl and makes a revoked certificate fail verification")
    func revocationListWorksWithOpenSSL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.path)
        let revoked = try authority.issue(commonName: "meter-a", publicKey: .init(P256.Signing.PrivateKey().publicKey), usage: .client,
                                          lifetime: .seconds(3600))
        let kept = try authority.issue(commonName: "meter-b", publicKey: .init(P256.Signing.PrivateKey().publicKey), usage: .client,
                                       lifetime: .seconds(3600))
        let crl = try authority.revocationList(revoked: [(revoked.serialNumber, Date())], number: 7, nextUpdate: .seconds(86_400))
        try crl.pemString.write(toFile: directory.file("crl.pem"), atomically: true, encoding: .utf8)
        try revoked.serializeAsPEM().pemString.write(toFile: directory.file("a.pem"), atomically: true, encoding: .utf8)
        try kept.serializeAsPEM().pemString.write(toFile: directory.file("b.pem"), atomically: true, encoding: .utf8)
        let openssl = try locateTool("openssl")
        let crlText = try await runTool(openssl, ["crl", "-in", directory.file("crl.pem"), "-noout", "-text", "-CAfile", directory.file("ca.pem")])
        #expect(crlText.contains("verify OK"))
        #expect(crlText.uppercased().contains(revoked.serialNumber.hex.uppercased()))
        #expect(crlText.contains("X509v3 CRL Number"))
        let arguments = ["verify", "-crl_check", "-CAfile", directory.file("ca.pem"), "-CRLfile", directory.file("crl.pem")]
        #expect(try await runTool(openssl, arguments + [directory.file("b.pem")]).contains(": OK"))
        let refusal = await #expect(throws: HarnessError.self) { try await runTool(openssl, arguments + [directory.file("a.pem")]) }
        #expect(refusal?.description.contains("certificate revoked") == true)
    }

    @Test("CSRs with a broken signature, a foreign key type, or garbage are refused with their codes")
    func csrValidation() throws {
        let key = P256.Signing.PrivateKey()
        let good = try csrPEM(commonName: "meter-1", key: Certificate.PrivateKey(key))
        #expect(try CSRValidator.validate(pem: good).commonName == "meter-1")

        #expect(throws: IdentityError(.badSignature, "")) { try CSRValidator.validate(pem: try brokenSignature(good)) }
        let p384 = try csrPEM(commonName: "meter-1", key: Certificate.PrivateKey(P384.Signing.PrivateKey()))
        #expect(throws: IdentityError(.unsupportedKey, "")) { try CSRValidator.validate(pem: p384) }
        #expect(throws: IdentityError(.malformedCSR, "")) { try CSRValidator.validate(pem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----") }
    }

    @Test("token lifetimes parse the way operators type them")
    func durations() {
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("15m") == .seconds(900))
        #expect(DurationText.parse("24h") == .seconds(86_400))
        #expect(DurationText.parse("7d") == .seconds(7 * 86_400))
        #expect(DurationText.parse("120") == .seconds(120))
        #expect(DurationText.parse("0h") == nil)
        #expect(DurationText.parse("-5m") == nil)
        #expect(DurationText.parse("soon") == nil)
    }
}

func csrPEM(commonName: String, key: Certificate.PrivateKey) throws -> String {
    let signatureAlgorithm: Certificate.SignatureAlgorithm = P384.Signing.PublicKey(key.publicKey) != nil
        ? .ecdsaWithSHA384 : .ecdsaWithSHA256
    return try CertificateSigningRequest(
        version: .v1, subject: try DistinguishedName { CommonName(commonName) }, privateKey: key, attributes: .init(),
        signatureAlgorithm: signatureAlgorithm
    ).serializeAsPEM().pemString
}

/// The same CSR with one bit of its signature flipped.
func brokenSignature(_ pem: String) throws -> String {
    let document = try PEMDocument(pemString: pem)
    var der = document.derBytes
    der[der.count - 5] ^= 0x01
    return PEMDocument(type: document.discriminator, derBytes: der).pemString
}
