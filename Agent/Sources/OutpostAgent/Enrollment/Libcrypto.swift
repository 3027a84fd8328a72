import CLibcrypto
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

// The device's identity cryptography through the system's OpenSSL libcrypto, which the agent
// already maps through libmosquitto and libcurl: P-256 keys, PKCS#10 CSRs, certificate
// parsing and SHA-256. The aggregator keeps swift-crypto and swift-certificates for its CA;
// the agent links neither (docs/agent.md, "Footprint").

/// An ECDSA P-256 private key, made on this device; only its public half ever leaves it.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never changed after it is made or read, and
/// libcrypto's reference counting and signing on a shared key are thread-safe.
public final class DeviceKey: @unchecked Sendable {
    fileprivate let pkey: OpaquePointer

    /// A fresh key from libcrypto's default random generator.
    public init() throws(EnrollmentError) {
        guard let pkey = outpost_crypto_generate_p256() else {
            throw EnrollmentError(.keyGenerationFailed, "libcrypto cannot make a P-256 key: \(Libcrypto.drainErrors())")
        }
        self.pkey = pkey
    }

    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY`, as written by ``pemRepresentation()`` and by
    /// earlier agents, or SEC1 `EC PRIVATE KEY`). Anything but an unencrypted P-256 key is refused.
    public init(pemRepresentation: String) throws(EnrollmentError) {
        let parsed = Libcrypto.withReadBIO(Array(pemRepresentation.utf8)) { bio in
            PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let pkey = parsed else {
            throw EnrollmentError(.credentialsUnreadable, "not a PEM private key: \(Libcrypto.drainErrors())")
        }
        guard Libcrypto.isP256(pkey) else {
            EVP_PKEY_free(pkey)
            throw EnrollmentError(.credentialsUnreadable, "the private key is not ECDSA P-256")
        }
        self.pkey = pkey
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The key as PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), for a 0600 file.
    public func pemRepresentation() throws(EnrollmentError) -> String {
        guard let bytes = Libcrypto.readBIO({ PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) == 1 }) else {
            throw EnrollmentError(.fileWriteFailed, "libcrypto cannot encode the private key: \(Libcrypto.drainErrors())")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The public half, as its DER SubjectPublicKeyInfo.
    public var publicKey: DevicePublicKey { DevicePublicKey(pkey) }

    /// A PEM PKCS#10 CSR with the single subject CN `commonName`, signed with this key (ECDSA with SHA-256).
    public func signingRequest(commonName: String) throws(EnrollmentError) -> String {
        guard let request = X509_REQ_new() else {
            throw EnrollmentError(.invalidArgument, "cannot build the CSR: \(Libcrypto.drainErrors())")
        }
        defer { X509_REQ_free(request) }
        let built = X509_REQ_set_version(request, 0) == 1  // PKCS#10 version 1 is encoded as 0
            && X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(request), "CN", MBSTRING_UTF8, Array(commonName.utf8),
                                          Int32(commonName.utf8.count), -1, 0) == 1
            && X509_REQ_set_pubkey(request, pkey) == 1
            && X509_REQ_sign(request, pkey, EVP_sha256()) > 0
        guard built, let pem = Libcrypto.readBIO({ PEM_write_bio_X509_REQ($0, request) == 1 }) else {
            throw EnrollmentError(.invalidArgument, "cannot build the CSR: \(Libcrypto.drainErrors())")
        }
        return String(decoding: pem, as: UTF8.self)
    }
}

/// A public key as its DER SubjectPublicKeyInfo, re-encoded by libcrypto so that equal keys compare equal.
public struct DevicePublicKey: Hashable, Sendable {
    public let derRepresentation: [UInt8]

    fileprivate init(_ pkey: OpaquePointer) {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else {
            derRepresentation = []
            return
        }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_PUBKEY(pkey, &cursor)
        }
        derRepresentation = der
    }
}

/// An X.509 certificate read with libcrypto: what enrollment and renewal look at.
///
/// `@unchecked Sendable`: the `X509` is only read after parsing; libcrypto guards the
/// extension cache it fills lazily with its own lock.
public final class DeviceCertificate: @unchecked Sendable {
    /// The serial number: its magnitude's octets, as the CA prints them.
    public struct SerialNumber: Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        /// Lowercase hex of ``bytes``, the form the centre stores and answers (`serial`).
        public var hex: String {
            let digits = Array("0123456789abcdef".utf8)
            var text = [UInt8]()
            text.reserveCapacity(bytes.count * 2)
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0f)])
            }
            return String(decoding: text, as: UTF8.self)
        }
        public var description: String { hex }
    }

    private let x509: OpaquePointer
    public let serialNumber: SerialNumber
    public let notValidBefore: Date
    public let notValidAfter: Date
    /// Every CN of the subject, in order.
    public let commonNames: [String]
    public let publicKey: DevicePublicKey

    /// Parses the first certificate of a PEM text; `bad_response` when there is none or it is malformed.
    public init(pemEncoded: String) throws(EnrollmentError) {
        guard let x509 = Libcrypto.withReadBIO(Array(pemEncoded.utf8), { PEM_read_bio_X509($0, nil, { _, _, _, _ in 0 }, nil) })
        else {
            throw EnrollmentError(.badResponse, "not a PEM certificate: \(Libcrypto.drainErrors())")
        }
        guard let notBefore = Libcrypto.date(X509_get0_notBefore(x509)), let notAfter = Libcrypto.date(X509_get0_notAfter(x509)),
              let serial = Libcrypto.integerMagnitude(X509_get0_serialNumber(x509)), let key = X509_get0_pubkey(x509)
        else {
            X509_free(x509)
            throw EnrollmentError(.badResponse, "the certificate's validity, serial or key cannot be read: \(Libcrypto.drainErrors())")
        }
        self.x509 = x509
        serialNumber = SerialNumber(bytes: serial)
        notValidBefore = notBefore
        notValidAfter = notAfter
        commonNames = Libcrypto.commonNames(X509_get_subject_name(x509))
        publicKey = DevicePublicKey(key)
    }

    deinit { X509_free(x509) }

    /// Whether `authority` issued this certificate: its subject is this one's issuer (and the key
    /// identifiers agree when both name them) and its key verifies this certificate's signature.
    public func isIssued(by authority: DeviceCertificate) -> Bool {
        let issued = X509_check_issued(authority.x509, x509) == X509_V_OK && X509_verify(x509, X509_get0_pubkey(authority.x509)) == 1
        if !issued { _ = Libcrypto.drainErrors() }
        return issued
    }
}

/// Small helpers over libcrypto's C calling conventions.
enum Libcrypto {
    /// SHA-256 of `bytes`; nil only if libcrypto fails.
    static func sha256(_ bytes: [UInt8]) -> [UInt8]? {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let done = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil) == 1
        }
        guard done, length == 32 else {
            _ = drainErrors()
            return nil
        }
        return digest
    }

    /// The thread's queued libcrypto errors as one line, and the queue emptied, so that a
    /// later TLS call (libcurl, libmosquitto) on this thread does not read a stale error.
    static func drainErrors() -> String {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(text(buffer))
        }
        return reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; ")
    }

    static func isP256(_ pkey: OpaquePointer) -> Bool {
        guard EVP_PKEY_is_a(pkey, "EC") == 1 else { return false }
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else { return false }
        return text(name) == "prime256v1"
    }

    /// A NUL-terminated C string filled in by libcrypto.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T?) -> T? {
        guard !bytes.isEmpty, bytes.count <= Int(Int32.max) else { return nil }
        return bytes.withUnsafeBytes { buffer -> T? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    /// What `write` puts into a fresh memory BIO; nil when it fails.
    static func readBIO(_ write: (OpaquePointer) -> Bool) -> [UInt8]? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) else { return nil }
        var data: UnsafeMutablePointer<CChar>?
        let length = outpost_crypto_bio_contents(bio, &data)
        guard length > 0, let data else { return nil }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// The magnitude of an INTEGER, big-endian without DER's sign octet: the bytes swift-certificates
    /// gives a serial number, so the agent prints the serial the centre stores.
    static func integerMagnitude(_ integer: UnsafePointer<ASN1_INTEGER>?) -> [UInt8]? {
        guard let integer, let data = ASN1_STRING_get0_data(integer) else { return nil }
        let length = Int(ASN1_STRING_length(integer))
        guard length > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    static func commonNames(_ name: OpaquePointer?) -> [String] {
        guard let name else { return [] }
        var names: [String] = []
        var index: Int32 = -1
        while true {
            index = X509_NAME_get_index_by_NID(name, NID_commonName, index)
            guard index >= 0, let entry = X509_NAME_get_entry(name, index) else { break }
            var text: UnsafeMutablePointer<UInt8>?
            let length = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(entry))
            if length >= 0, let text {
                names.append(String(decoding: UnsafeBufferPointer(start: text, count: Int(length)), as: UTF8.self))
                outpost_crypto_free(text)
            }
        }
        return names
    }
}
