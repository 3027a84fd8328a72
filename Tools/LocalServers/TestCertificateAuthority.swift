import Foundation

/// A throwaway P-256 CA made with the `openssl` tool, for tests that need real TLS
/// before (or independently of) the aggregator's own CA.
public struct TestCertificateAuthority: Sendable {
    /// A certificate and its key on disk.
    public struct Identity: Sendable {
        public let commonName: String
        public let certificateFile: String
        public let keyFile: String
    }

    public let directory: String
    public let certificateFile: String
    public let keyFile: String
    private let openssl: String

    /// Creates the CA's key and self-signed certificate in `directory`.
    public init(directory: String, name: String = "Outpost Test CA") async throws {
        self.directory = directory
        self.openssl = try locateTool("openssl")
        certificateFile = (directory as NSString).appendingPathComponent("\(Self.slug(name))-ca.pem")
        keyFile = (directory as NSString).appendingPathComponent("\(Self.slug(name))-ca.key")
        try await generateKey(keyFile)
        try await runTool(openssl, [
            "req", "-new", "-x509", "-key", keyFile, "-out", certificateFile, "-days", "2", "-subj", "/CN=\(name)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// A server certificate, by default valid for 127.0.0.1, ::1 and localhost.
    public func issueServer(commonName: String = "localhost", names: String = "IP:127.0.0.1,IP:::1,DNS:localhost") async throws -> Identity {
        try await issue(commonName: commonName, extensions: [
            "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth", "subjectAltName=\(names)",
        ])
    }

    /// A client certificate whose CN is the MQTT identity (`use_identity_as_username`).
    public func issueClient(_ commonName: String) async throws -> Identity {
        try await issue(commonName: commonName, extensions: [
            "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth",
        ])
    }

    private func issue(commonName: String, extensions: [String]) async throws -> Identity {
        let base = (directory as NSString).appendingPathComponent(Self.slug(commonName))
        let key = base + ".key", csr = base + ".csr", certificate = base + ".pem", extensionFile = base + ".ext"
        try await generateKey(key)
        try await runTool(openssl, ["req", "-new", "-key", key, "-out", csr, "-subj", "/CN=\(commonName)"])
        try extensions.joined(separator: "\n").write(toFile: extensionFile, atomically: true, encoding: .utf8)
        try await runTool(openssl, [
            "x509", "-req", "-in", csr, "-CA", certificateFile, "-CAkey", keyFile, "-set_serial",
            "\(UInt64.random(in: 1...UInt64(Int64.max)))", "-days", "1", "-out", certificate, "-extfile", extensionFile,
        ])
        return Identity(commonName: commonName, certificateFile: certificate, keyFile: key)
    }

    private func generateKey(_ path: String) async throws {
        try await runTool(openssl, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path])
        chmod(path, 0o600)
    }

    private static func slug(_ name: String) -> String {
        String(name.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }
}
