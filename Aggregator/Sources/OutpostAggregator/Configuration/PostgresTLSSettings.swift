#if canImport(Glibc)
import Glibc
#endif
import NIOSSL
import OutpostSupport

/// The `postgres.tls` section: how the aggregator's PostgreSQL connections are protected
/// once the database lives on another host.
///
/// The modes follow libpq's `sslmode` names:
/// - `disable` (the default): plain TCP, for a server on the same host.
/// - `require`: encrypted, but any server certificate is accepted (protects against a
///   passive listener only).
/// - `verify-ca`: the server certificate must chain to `ca_file`.
/// - `verify-full`: as `verify-ca`, and the certificate must name the server: a DNS entry
///   matching `server_name` (or `host` when that is a name), or an IP entry matching the
///   address connected to.
public struct PostgresTLSSettings: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case disable
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// Defaults to `disable`.
    public var mode: Mode
    /// PEM file of the CA that issued the server's certificate. Required for `verify-ca` and `verify-full`.
    public var caFile: String?
    /// PEM client certificate, for servers that authenticate with `cert` in `pg_hba.conf`. Defaults to none.
    public var certFile: String?
    /// PEM private key of `cert_file`; refused when other users may read it (as libpq does).
    public var keyFile: String?
    /// The name the server certificate must carry, when it differs from `host`. Defaults to `host`.
    public var serverName: String?

    public init(mode: Mode = .disable, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                serverName: String? = nil) {
        self.mode = mode
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let modeName = try container.value(.mode, default: Mode.disable.rawValue, where: { Mode(rawValue: $0) != nil },
                                           "must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        mode = Mode(rawValue: modeName) ?? .disable
        caFile = try container.value(.caFile, default: nil, where: { $0.map { !$0.isEmpty } ?? (mode != .verifyCA && mode != .verifyFull) },
                                     "is required for verify-ca and verify-full")
        certFile = try container.decodeIfPresent(String.self, forKey: .certFile)
        keyFile = try container.value(.keyFile, default: nil, where: { ($0 == nil) == (certFile == nil) },
                                      "must be set together with cert_file")
        serverName = try container.value(.serverName, default: nil, where: { $0.map { !$0.isEmpty } ?? true }, "must not be empty")
        // Files with mode `disable` would be silently unused: refuse them, naming `mode`.
        _ = try container.value(.mode, default: modeName, where: { _ in mode != .disable || (caFile == nil && certFile == nil) },
                                "is disable, but TLS files are set: choose require, verify-ca or verify-full")
    }

    /// The TLS configuration for these settings, with every file read now so that a missing or
    /// unreadable file stops the start instead of failing each connection later; nil for `disable`.
    public func tlsConfiguration() throws(StoreError) -> TLSConfiguration? {
        guard mode != .disable else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch mode {
        case .disable, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let caFile {
            configuration.trustRoots = .certificates(try Self.certificates(caFile, "ca_file"))
        }
        if let certFile, let keyFile {
            try Self.checkPrivate(keyFile)
            configuration.certificateChain = try Self.certificates(certFile, "cert_file").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw StoreError(.tlsFileUnreadable, "postgres.tls.key_file \(keyFile): \(error)")
            }
        }
        return configuration
    }

    private static func certificates(_ path: String, _ key: String) throws(StoreError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw StoreError(.tlsFileUnreadable, "postgres.tls.\(key) \(path): \(error)")
        }
        guard !certificates.isEmpty else { throw StoreError(.tlsFileUnreadable, "postgres.tls.\(key) \(path) holds no PEM certificate") }
        return certificates
    }

    /// libpq's rule: a client key other users can read is refused, not used.
    private static func checkPrivate(_ path: String) throws(StoreError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw StoreError(.tlsFileUnreadable, "postgres.tls.key_file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o007 == 0 else {
            throw StoreError(.tlsKeyPermissions, "postgres.tls.key_file \(path) is 0\(String(info.st_mode & 0o777, radix: 8)); make it 0600 or 0640")
        }
    }
}
