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

/// `outpost-agent enroll`, as a function the command and the tests share.
///
/// Order: check the token, fetch and fingerprint-check the CA, make the key, send the CSR,
/// and only when the server has answered with a certificate for that key write key,
/// certificate, CA and configuration (each atomically). A failed run therefore leaves a
/// previous enrollment intact, and running it again with a fresh token is safe.
public struct Enrollment: Sendable {
    public var server: String
    public var token: String
    public var caFingerprint: String?
    /// Where `agent.json`, `device.key`, `device.pem` and `ca.pem` go. Defaults to `/etc/outpost`.
    public var configDirectory: String
    public var keyGroup: gid_t?

    public init(server: String, token: String, caFingerprint: String? = nil, configDirectory: String = "/etc/outpost",
                keyGroup: gid_t? = nil) {
        self.server = server
        self.token = token
        self.caFingerprint = caFingerprint
        self.configDirectory = configDirectory
        self.keyGroup = keyGroup
    }

    public var configFile: String { path("agent.json") }
    public var credentials: DeviceCredentials {
        DeviceCredentials(keyFile: path("device.key"), certificateFile: path("device.pem"), caFile: path("ca.pem"), keyGroup: keyGroup)
    }

    public func run() async throws(EnrollmentError) -> CertificateResponse {
        guard let parsed = EnrollmentToken(token) else {
            throw EnrollmentError(.invalidToken, "the token is not an Outpost enrollment token (opt1.…)")
        }
        var fingerprint = parsed.caFingerprint
        if let caFingerprint {
            guard let explicit = CertificateFingerprint(caFingerprint) else {
                throw EnrollmentError(.invalidArgument, "--ca-fingerprint must be 64 hex digits (SHA-256)")
            }
            guard explicit == fingerprint else {
                throw EnrollmentError(.fingerprintMismatch, "--ca-fingerprint differs from the token's CA fingerprint")
            }
            fingerprint = explicit
        }
        let client = ConfigEndpointClient(server: server)
        let caPEM = try await client.fetchCertificateAuthority(expecting: fingerprint)
        let key = DeviceCredentials.makeKey()
        let csr = try DeviceCredentials.signingRequest(device: parsed.device, key: key)
        let response = try await client.enroll(EnrollRequest(token: token, csr: csr), trusting: caPEM)
        guard response.deviceId == parsed.device.rawValue else {
            throw EnrollmentError(.badResponse, "the server enrolled \(response.deviceId), not \(parsed.device)")
        }
        do {
            try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        } catch {
            throw EnrollmentError(.fileWriteFailed, "cannot create \(configDirectory)")
        }
        try credentials.install(response, key: key, device: parsed.device)
        try writeConfiguration(response)
        return response
    }

    /// Updates `agent.json`: identity, broker and enrollment keys are set; every other key
    /// already in the file is kept as it is.
    func writeConfiguration(_ response: CertificateResponse) throws(EnrollmentError) {
        var root: [String: JSONValue] = [:]
        if let data = FileManager.default.contents(atPath: configFile),
           case .object(let existing)? = try? JSONDecoder().decode(JSONValue.self, from: data)
        {
            root = existing
        }
        var mqtt = Self.members(of: root["mqtt"])
        mqtt["host"] = .string(response.broker.host)
        mqtt["port"] = .number(Double(response.broker.port))
        mqtt["ca_file"] = .string(credentials.caFile)
        mqtt["cert_file"] = .string(credentials.certificateFile)
        mqtt["key_file"] = .string(credentials.keyFile)
        mqtt["keepalive"] = .number(Double(response.config.keepalive))
        mqtt["verify_hostname"] = .bool(response.config.verifyHostname)
        root["mqtt"] = .object(mqtt)
        root["device_id"] = .string(response.deviceId)
        var enrollment = Self.members(of: root["enrollment"])
        enrollment["server_url"] = .string(ConfigEndpointClient(server: server).server)
        root["enrollment"] = .object(enrollment)
        do {
            // Sorted, pretty-printed, slashes escaped: byte for byte what JSONSerialization wrote before.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(JSONValue.object(root))
            try SecureFile.write(Array(data) + [UInt8(ascii: "\n")], to: configFile, mode: 0o644)
        } catch let error as SecureFile.WriteError {
            throw EnrollmentError(.fileWriteFailed, error.description)
        } catch {
            throw EnrollmentError(.fileWriteFailed, "cannot encode \(configFile)")
        }
    }

    private static func members(of section: JSONValue?) -> [String: JSONValue] {
        if case .object(let members)? = section { return members }
        return [:]
    }

    /// `configDirectory/name`, as `NSString.appendingPathComponent` joined it.
    private func path(_ name: String) -> String {
        if configDirectory.isEmpty { return name }
        return configDirectory.hasSuffix("/") ? configDirectory + name : configDirectory + "/" + name
    }
}
