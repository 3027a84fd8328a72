import Crypto
import Foundation
import OutpostSupport
import OutpostWire
import SwiftASN1
import X509

/// The fleet's certificate authority: a P-256 key and a self-signed certificate in
/// `{state_dir}/ca/` (`ca.key` mode 0600, `ca.pem` 0644).
///
/// It issues device certificates (clientAuth), the broker's and the config endpoint's
/// server certificates (serverAuth), service certificates (clientAuth, CN `svc.…`), and
/// signs the CRL the broker enforces. It is a value: loading it twice gives two equal CAs.
public struct CertificateAuthority: Sendable {
    public static let keyFileName = "ca.key"
    public static let certificateFileName = "ca.pem"
    /// Ten years: the CA outlives every certificate it issues by far; rotating it means re-enrolling.
    public static let defaultLifetime: Duration = .seconds(10 * 365 * 86_400)

    public let certificate: Certificate
    /// The key's raw scalar; swift-crypto's key type is not `Sendable` on Linux, and `Redacted` keeps it out of any print.
    private let privateKeyBytes: Redacted<[UInt8]>

    var privateKey: P256.Signing.PrivateKey {
        // The bytes came from a valid key, so this cannot fail.
        try! P256.Signing.PrivateKey(rawRepresentation: privateKeyBytes.value)
    }

    /// What a certificate is for.
    public enum Usage: Sendable, Equatable {
        /// A device or service client: clientAuth.
        case client
        /// A TLS server reachable at these IP addresses and DNS names: serverAuth.
        case server(ipAddresses: [String], dnsNames: [String])
    }

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKeyBytes = Redacted(Array(privateKey.rawRepresentation))
    }

    /// Loads the CA from `directory`.
    public static func load(directory: String) throws(IdentityError) -> CertificateAuthority {
        let keyPath = (directory as NSString).appendingPathComponent(keyFileName)
        let certificatePath = (directory as NSString).appendingPathComponent(certificateFileName)
        do {
            let keyPEM = try String(contentsOfFile: keyPath, encoding: .utf8)
            let certificatePEM = try String(contentsOfFile: certificatePath, encoding: .utf8)
            let key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            let certificate = try Certificate(pemEncoded: certificatePEM)
            guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw IdentityError(.caUnavailable, "\(keyPath) does not belong to \(certificatePath)")
            }
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(.caUnavailable, "cannot load the CA from \(directory) (run `outpost-aggregator ca init`): \(type(of: error))")
        }
    }

    /// Makes a new CA in `directory`. Refuses when one exists there unless `overwrite`.
    public static func initialize(directory: String, name: String = "Outpost Fleet CA", overwrite: Bool = false,
                                  lifetime: Duration = defaultLifetime, now: Date = Date()) throws(IdentityError) -> CertificateAuthority {
        let keyPath = (directory as NSString).appendingPathComponent(keyFileName)
        let certificatePath = (directory as NSString).appendingPathComponent(certificateFileName)
        if !overwrite && (FileManager.default.fileExists(atPath: keyPath) || FileManager.default.fileExists(atPath: certificatePath)) {
            throw IdentityError(.caExists, "a CA exists in \(directory); refusing to overwrite it (every device certificate depends on it)")
        }
        try IdentityFiles.createDirectory(directory, mode: 0o700)
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject: DistinguishedName
        let certificate: Certificate
        do {
            subject = try DistinguishedName { CommonName(name) }
            certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(lifetime.seconds),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: publicKey)
                },
                issuerPrivateKey: Certificate.PrivateKey(key))
        } catch {
            throw IdentityError(.issuanceFailed, "cannot make the CA certificate: \(error)")
        }
        try IdentityFiles.write(key.pemRepresentation, to: keyPath, mode: 0o600)
        try IdentityFiles.write(try pem(certificate), to: certificatePath, mode: 0o644)
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// The CA certificate as PEM.
    public var certificatePEM: String { (try? Self.pem(certificate)) ?? "" }

    /// SHA-256 of the CA certificate's DER: what enrollment tokens carry.
    public var fingerprint: CertificateFingerprint {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return CertificateFingerprint(bytes: Array(SHA256.hash(data: serializer.serializedBytes)))!
    }

    /// Issues a certificate for `publicKey` with CN `commonName`, valid for `lifetime` from
    /// slightly in the past (a minute, or a twentieth of a short lifetime) to absorb clock skew
    /// without moving the renewal point of short-lived certificates.
    public func issue(commonName: String, publicKey: Certificate.PublicKey, usage: Usage, lifetime: Duration,
                      now: Date = Date()) throws(IdentityError) -> Certificate {
        do {
            let subject = try DistinguishedName { CommonName(commonName) }
            let notAfter = min(now.addingTimeInterval(lifetime.seconds), certificate.notValidAfter)
            let authorityKey = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKey)
                switch usage {
                case .client:
                    try ExtendedKeyUsage([.clientAuth])
                case .server(let ipAddresses, let dnsNames):
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(
                        ipAddresses.compactMap(Self.ipAddressBytes).map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
                            + dnsNames.map { GeneralName.dnsName($0) })
                }
            }
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-min(60, lifetime.seconds / 20)), notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(privateKey))
        } catch {
            throw IdentityError(.issuanceFailed, "cannot issue a certificate for \(commonName): \(error)")
        }
    }

    /// Signs a CRL listing `revoked` (serial, revocation time), valid until `nextUpdate`.
    public func revocationList(revoked: [(serial: Certificate.SerialNumber, revokedAt: Date)], number: Int64, now: Date = Date(),
                               nextUpdate: Duration) throws(IdentityError) -> CertificateRevocationList {
        do {
            return try CertificateRevocationList.sign(
                issuer: certificate, key: privateKey, revoked: revoked, number: number, thisUpdate: now,
                nextUpdate: now.addingTimeInterval(nextUpdate.seconds))
        } catch {
            throw IdentityError(.issuanceFailed, "cannot sign the CRL: \(error)")
        }
    }

    static func pem(_ certificate: Certificate) throws(IdentityError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw IdentityError(.issuanceFailed, "cannot encode a certificate: \(error)")
        }
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address literal.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

extension Certificate.SerialNumber {
    /// Lower-case hex, as stored in PostgreSQL and printed by `openssl x509 -serial` (lower-cased).
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }

    public init?(hex: String) {
        guard hex.count % 2 == 0, !hex.isEmpty else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }
}

extension Duration {
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
