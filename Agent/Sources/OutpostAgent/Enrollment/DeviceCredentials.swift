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
import OutpostSupport
import OutpostWire

/// A device's key and the files that hold its identity: `device.key` (0600, or 0640 to a
/// group), `device.pem` and `ca.pem` (0644), all written atomically, and owned by `owner`
/// when enrollment runs as root for the service user (see docs/identity.md, "Files").
public struct DeviceCredentials: Sendable {
    /// A user and group that own the credential files, so the service can replace them on renewal.
    public struct Owner: Sendable, Equatable {
        public var user: uid_t
        public var group: gid_t

        public init(user: uid_t, group: gid_t) {
            self.user = user
            self.group = group
        }

        /// The account named `name` with its primary group; nil when there is none.
        public static func named(_ name: String) -> Owner? {
            guard let entry = getpwnam(name) else { return nil }
            return Owner(user: entry.pointee.pw_uid, group: entry.pointee.pw_gid)
        }

        /// Who owns `path` now; nil when it does not exist.
        public static func of(_ path: String) -> Owner? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Owner(user: info.st_uid, group: info.st_gid)
        }
    }

    public let keyFile: String
    public let certificateFile: String
    public let caFile: String
    /// Group that may read the key (mode 0640); nil keeps it owner-only (0600).
    public let keyGroup: gid_t?
    /// Owner of every file written; nil leaves them to the writing process.
    public let owner: Owner?

    public init(keyFile: String, certificateFile: String, caFile: String, keyGroup: gid_t? = nil, owner: Owner? = nil) {
        self.keyFile = keyFile
        self.certificateFile = certificateFile
        self.caFile = caFile
        self.keyGroup = keyGroup
        self.owner = owner
    }

    /// The key of a renewal in progress: written before its CSR is sent, so a retry sends the same key.
    public var pendingKeyFile: String { keyFile + ".pending" }
    /// The certificate the centre issued for the pending key, kept until it is installed.
    public var pendingCertificateFile: String { certificateFile + ".pending" }

    /// The group that may read an existing key file (mode 0640), so renewal keeps what enrollment chose.
    public static func readingGroup(of keyFile: String) -> gid_t? {
        var info = stat()
        guard stat(keyFile, &info) == 0, info.st_mode & 0o040 != 0 else { return nil }
        return info.st_gid
    }

    /// A fresh P-256 key, made on this device; it never leaves it.
    public static func makeKey() throws(EnrollmentError) -> DeviceKey { try DeviceKey() }

    /// A PEM CSR with CN `device`, signed by `key`.
    public static func signingRequest(device: DeviceID, key: DeviceKey) throws(EnrollmentError) -> String {
        try key.signingRequest(commonName: device.rawValue)
    }

    /// Checks that `response` certifies `key` for `device` and was issued by the CA it names,
    /// then installs key, certificate and CA. Returns the installed certificate.
    @discardableResult
    public func install(_ response: CertificateResponse, key: DeviceKey, device: DeviceID) throws(EnrollmentError)
        -> DeviceCertificate
    {
        let certificate: DeviceCertificate
        let authority: DeviceCertificate
        do {
            certificate = try DeviceCertificate(pemEncoded: response.certificate)
            authority = try DeviceCertificate(pemEncoded: response.caCertificate)
        } catch {
            throw EnrollmentError(.badResponse, "the server's certificate is not valid PEM")
        }
        guard certificate.publicKey == key.publicKey, certificate.commonNames == [device.rawValue] else {
            throw EnrollmentError(.badResponse, "the server's certificate is not for this device's key")
        }
        guard certificate.isIssued(by: authority) else {
            throw EnrollmentError(.badResponse, "the server's certificate was not issued by the CA it sent")
        }
        let keyPEM = try key.pemRepresentation()
        do {
            try SecureFile.write(keyPEM, to: keyFile, mode: keyGroup == nil ? 0o600 : 0o640, owner: owner?.user,
                                 group: keyGroup ?? owner?.group)
            try SecureFile.write(response.certificate, to: certificateFile, mode: 0o644, owner: owner?.user, group: owner?.group)
            try SecureFile.write(response.caCertificate, to: caFile, mode: 0o644, owner: owner?.user, group: owner?.group)
        } catch {
            throw EnrollmentError(.fileWriteFailed, error.description)
        }
        unlink(pendingKeyFile)
        unlink(pendingCertificateFile)
        return certificate
    }

    /// The key for the next renewal: the pending one if a previous attempt left it, otherwise a
    /// new one, written to ``pendingKeyFile`` (0600) before anything is sent. A credentials
    /// directory the agent cannot write therefore fails here, before the centre issues anything.
    public func pendingKey() throws(EnrollmentError) -> DeviceKey {
        if let text = try? String(contentsOfFile: pendingKeyFile, encoding: .utf8),
           let key = try? DeviceKey(pemRepresentation: text)
        {
            return key
        }
        let key = try Self.makeKey()
        let keyPEM = try key.pemRepresentation()
        do {
            try SecureFile.write(keyPEM, to: pendingKeyFile, mode: 0o600, owner: owner?.user, group: owner?.group)
        } catch {
            throw EnrollmentError(.fileWriteFailed, error.description)
        }
        return key
    }

    /// The certificate already issued for `key` by an earlier attempt and not yet installed,
    /// if it is still valid; a retry installs it instead of asking for another.
    public func pendingResponse(for key: DeviceKey, now: Date = Date()) -> CertificateResponse? {
        guard let data = FileManager.default.contents(atPath: pendingCertificateFile),
              let response = try? JSONDecoder().decode(CertificateResponse.self, from: data),
              let certificate = try? DeviceCertificate(pemEncoded: response.certificate),
              certificate.publicKey == key.publicKey, certificate.notValidAfter > now
        else { return nil }
        return response
    }

    /// Keeps the centre's answer for the pending key until it is installed.
    public func keepPending(_ response: CertificateResponse) throws(EnrollmentError) {
        do {
            let data = try JSONEncoder().encode(response)
            try SecureFile.write(Array(data), to: pendingCertificateFile, mode: 0o644, owner: owner?.user, group: owner?.group)
        } catch let error as SecureFile.WriteError {
            throw EnrollmentError(.fileWriteFailed, error.description)
        } catch {
            throw EnrollmentError(.fileWriteFailed, "cannot encode \(pendingCertificateFile)")
        }
    }

    /// The installed certificate, for the renewal schedule.
    public func currentCertificate() throws(EnrollmentError) -> DeviceCertificate {
        do {
            return try DeviceCertificate(pemEncoded: try String(contentsOfFile: certificateFile, encoding: .utf8))
        } catch {
            throw EnrollmentError(.credentialsUnreadable, "cannot read the certificate \(certificateFile)")
        }
    }
}
