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
    /// Where `agent.json` goes. Defaults to `/etc/outpost`.
    public var configDirectory: String
    /// Where `device.key`, `device.pem` and `ca.pem` go; the service must be able to replace
    /// them on renewal. Defaults to `configDirectory` (the command passes `/var/lib/outpost/credentials`).
    public var credentialsDirectory: String
    public var keyGroup: gid_t?
    /// Owner of the credentials directory and files (the service user, when run as root).
    public var owner: DeviceCredentials.Owner?
    /// Sources written into a new `agent.json` (one without a `sources` key).
    public var defaultSources: [JSONValue]
    /// Streams written into a new `agent.json` (one without a `streams` key).
    public var defaultStreams: [String: JSONValue]

    public init(server: String, token: String, caFingerprint: String? = nil, configDirectory: String = "/etc/outpost",
                credentialsDirectory: String? = nil, keyGroup: gid_t? = nil, owner: DeviceCredentials.Owner? = nil,
                defaultSources: [JSONValue] = [], defaultStreams: [String: JSONValue] = [:]) {
        self.server = server
        self.token = token
        self.caFingerprint = caFingerprint
        self.configDirectory = configDirectory
        self.credentialsDirectory = credentialsDirectory ?? configDirectory
        self.keyGroup = keyGroup
        self.owner = owner
        self.defaultSources = defaultSources
        self.defaultStreams = defaultStreams
    }

    public var configFile: String { Self.join(configDirectory, "agent.json") }
    public var credentials: DeviceCredentials {
        DeviceCredentials(keyFile: Self.join(credentialsDirectory, "device.key"),
                          certificateFile: Self.join(credentialsDirectory, "device.pem"),
                          caFile: Self.join(credentialsDirectory, "ca.pem"), keyGroup: keyGroup, owner: owner)
    }

    /// The sources a fresh device measures: the host itself always; a simulated meter when asked.
    public static func sources(meter: Bool) -> [JSONValue] {
        var sources: [JSONValue] = [["type": "system", "name": "system", "interval_s": 30, "prefix": "host"]]
        if meter { sources.append(["type": "meter", "name": "meter", "interval_s": 1, "kind": "ac"]) }
        return sources
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
        let key = try DeviceCredentials.makeKey()
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
        try makeCredentialsDirectory()
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
        if root["sources"] == nil && !defaultSources.isEmpty { root["sources"] = .array(defaultSources) }
        if root["streams"] == nil && !defaultStreams.isEmpty { root["streams"] = .object(defaultStreams) }
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

    /// The credentials directory, mode 0700 and owned by ``owner``: only the service reads its key,
    /// and it can replace every file in it on renewal.
    func makeCredentialsDirectory() throws(EnrollmentError) {
        if mkdir(credentialsDirectory, 0o700) != 0 && errno != EEXIST {
            do {
                try FileManager.default.createDirectory(atPath: credentialsDirectory, withIntermediateDirectories: true)
            } catch {
                throw EnrollmentError(.fileWriteFailed, "cannot create \(credentialsDirectory)")
            }
        }
        guard credentialsDirectory != configDirectory else { return }
        let failed = chmod(credentialsDirectory, 0o700) != 0 || (owner.map { chown(credentialsDirectory, $0.user, $0.group) != 0 } ?? false)
        if failed {
            throw EnrollmentError(.fileWriteFailed, "cannot set the mode or owner of \(credentialsDirectory): \(String(cString: strerror(errno)))")
        }
    }

    /// `directory/name`, as `NSString.appendingPathComponent` joined it.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
