import Crypto
import Foundation
@testable import OutpostAgent
import OutpostAggregator
import OutpostWire
import Testing
import TestHarness
import X509

/// The agent makes its key, CSR and certificate checks with the system's libcrypto; the centre's
/// CA uses swift-crypto and swift-certificates. These tests hold the two sides together, with
/// `openssl` as a third opinion, without a network.
@Suite("Agent identity through libcrypto: interoperability with the CA, swift-crypto and openssl")
struct AgentLibcryptoInteropTests {
    let device = DeviceID("meter-0007")!

    @Test("the agent's CSR passes the CA's validator and `openssl req -verify`, names only the device, and holds no private key")
    func csrAcceptedByCA() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try DeviceCredentials.makeKey()
        let csr = try DeviceCredentials.signingRequest(device: device, key: key)
        #expect(csr.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))

        let validated = try CSRValidator.validate(pem: csr)
        #expect(validated.commonName == "meter-0007")
        #expect(try #require(P256.Signing.PublicKey(validated.publicKey)).derRepresentation == Data(key.publicKey.derRepresentation))

        let file = directory.file("device.csr")
        try csr.write(toFile: file, atomically: true, encoding: .utf8)
        let verified = try await runTool(locateTool("openssl"), ["req", "-in", file, "-verify", "-noout", "-subject", "-nameopt", "multiline"])
        #expect(verified.contains("verify OK") || verified.contains("Certificate request self-signature verify OK"))
        #expect(verified.contains("commonName") && verified.contains("= meter-0007"))

        // The private scalar appears nowhere in what is sent.
        let scalar = try P256.Signing.PrivateKey(pemRepresentation: try key.pemRepresentation()).rawRepresentation
        let der = try CertificateSigningRequest(pemEncoded: csr).serializeAsPEM().derBytes
        #expect(!Self.contains(der, Array(scalar)))
        #expect(!csr.contains("PRIVATE KEY"))
    }

    @Test("certificates the CA issues read back with the CA's serial, validity, CN and key, and as issued by that CA only")
    func issuedCertificatesReadBack() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.file("ca"))
        let stranger = try CertificateAuthority.initialize(directory: directory.file("other"))
        let authorityCertificate = try DeviceCertificate(pemEncoded: authority.certificatePEM)
        let strangerCertificate = try DeviceCertificate(pemEncoded: stranger.certificatePEM)
        #expect(authorityCertificate.commonNames == ["Outpost Fleet CA"])
        // Random serials: some start with a high bit, which DER pads with a zero octet (not part of the serial's hex).
        for _ in 0..<8 {
            let key = try DeviceKey()
            let validated = try CSRValidator.validate(pem: try key.signingRequest(commonName: device.rawValue))
            let now = Date()
            let issued = try authority.issue(commonName: validated.commonName, publicKey: validated.publicKey, usage: .client,
                                             lifetime: .seconds(7 * 86_400), now: now)
            let parsed = try DeviceCertificate(pemEncoded: try issued.serializeAsPEM().pemString)
            #expect(parsed.serialNumber.hex == issued.serialNumber.hex)
            #expect(parsed.serialNumber.bytes == Array(issued.serialNumber.bytes))
            #expect(parsed.notValidBefore.timeIntervalSince1970.rounded(.down) == issued.notValidBefore.timeIntervalSince1970.rounded(.down))
            #expect(parsed.notValidAfter.timeIntervalSince1970.rounded(.down) == issued.notValidAfter.timeIntervalSince1970.rounded(.down))
            #expect(parsed.commonNames == ["meter-0007"])
            #expect(parsed.publicKey == key.publicKey)
            #expect(parsed.isIssued(by: authorityCertificate))
            #expect(!parsed.isIssued(by: strangerCertificate))
            #expect(!authorityCertificate.isIssued(by: parsed))
        }
    }

    @Test("install refuses a certificate signed by another CA than the one sent with it: bad_response, nothing written")
    func installChecksIssuer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.file("ca"))
        let stranger = try CertificateAuthority.initialize(directory: directory.file("other"))
        let key = try DeviceKey()
        let validated = try CSRValidator.validate(pem: try key.signingRequest(commonName: device.rawValue))
        let issued = try stranger.issue(commonName: device.rawValue, publicKey: validated.publicKey, usage: .client, lifetime: .seconds(3_600))
        let credentials = DeviceCredentials(keyFile: directory.file("device.key"), certificateFile: directory.file("device.pem"),
                                            caFile: directory.file("ca.pem"))
        let response = CertificateResponse(deviceId: device.rawValue, certificate: try issued.serializeAsPEM().pemString,
                                           caCertificate: authority.certificatePEM, serial: issued.serialNumber.hex,
                                           notAfter: Int64(issued.notValidAfter.timeIntervalSince1970),
                                           broker: .init(host: "127.0.0.1", port: 8883), config: .init(keepalive: 30, verifyHostname: true))
        let error = #expect(throws: EnrollmentError.self) { try credentials.install(response, key: key, device: device) }
        #expect(error?.code == .badResponse)
        #expect(error?.context == "the server's certificate was not issued by the CA it sent")
        #expect(!FileManager.default.fileExists(atPath: credentials.keyFile))

        var honest = response
        honest.caCertificate = stranger.certificatePEM
        let installed = try credentials.install(honest, key: key, device: device)
        #expect(installed.serialNumber.hex == issued.serialNumber.hex)
        #expect(try fileMode(credentials.keyFile) == 0o600)
        let text = try await runTool(locateTool("openssl"), ["pkey", "-in", credentials.keyFile, "-noout", "-text"])
        #expect(text.contains("prime256v1") || text.contains("P-256"))
    }

    @Test("key files: one written by swift-crypto (earlier agents) reads back as the same key and the other way round; other keys are refused")
    func keyFilesBothWays() throws {
        let earlier = P256.Signing.PrivateKey()
        let read = try DeviceKey(pemRepresentation: earlier.pemRepresentation)
        #expect(read.publicKey.derRepresentation == Array(earlier.publicKey.derRepresentation))

        let agentKey = try DeviceKey()
        let pem = try agentKey.pemRepresentation()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let back = try P256.Signing.PrivateKey(pemRepresentation: pem)
        #expect(Array(back.publicKey.derRepresentation) == agentKey.publicKey.derRepresentation)
        #expect(try DeviceKey(pemRepresentation: pem).publicKey == agentKey.publicKey)
        #expect(try DeviceKey().publicKey != agentKey.publicKey)

        for refused in [P384.Signing.PrivateKey().pemRepresentation, "", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                        String(pem.prefix(pem.count / 2))] {
            let error = #expect(throws: EnrollmentError.self) { try DeviceKey(pemRepresentation: refused) }
            #expect(error?.code == .credentialsUnreadable)
        }
    }

    @Test("malformed certificates are bad_response, never a crash; the CA fingerprint matches the centre's")
    func malformedCertificatesAndFingerprint() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try CertificateAuthority.initialize(directory: directory.path)
        let pem = authority.certificatePEM
        for hostile in ["", "not a certificate", String(pem.prefix(pem.count / 2)) + "-----END CERTIFICATE-----\n",
                        pem.replacingOccurrences(of: "MII", with: "MIJ"), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"] {
            let error = #expect(throws: EnrollmentError.self) { _ = try DeviceCertificate(pemEncoded: hostile) }
            #expect(error?.code == .badResponse)
        }
        let der = try #require(PEMCertificate.der(fromPEM: pem))
        #expect(CertificateFingerprint(bytes: try #require(Libcrypto.sha256(der))) == authority.fingerprint)
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
