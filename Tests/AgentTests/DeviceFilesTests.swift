import Crypto
import Foundation
@testable import OutpostAgent
import OutpostSupport
import OutpostWire
import Testing
import X509

/// The packaged layout (docs/identity.md, "Files") and renewal's pending key, on disk,
/// without a server: configuration in one directory, credentials in a 0700 directory owned
/// by the service user, and at most one certificate asked for per pending key.
@Suite("Device files: credentials layout, default sources, pending renewal")
struct DeviceFilesTests {
    let device = DeviceID("meter-0042")!

    func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    func info(_ path: String) throws -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return info
    }

    /// A certificate for `key` with CN `device`, as the centre would answer it (self-signed, so it is its own CA).
    func response(for deviceKey: DeviceKey, serial: String, lifetime: TimeInterval = 3_600) throws -> CertificateResponse {
        let key = try P256.Signing.PrivateKey(pemRepresentation: try deviceKey.pemRepresentation())
        let name = try DistinguishedName { CommonName(device.rawValue) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(lifetime), issuer: name,
            subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key))
        let pem = try certificate.serializeAsPEM().pemString
        return CertificateResponse(deviceId: device.rawValue, certificate: pem, caCertificate: pem, serial: serial,
                                   notAfter: Int64(Date().addingTimeInterval(lifetime).timeIntervalSince1970),
                                   broker: .init(host: "127.0.0.1", port: 8883), config: .init(keepalive: 30, verifyHostname: true))
    }

    @Test("agent.json in the config directory points at the credentials directory; a new file gets the default sources and streams")
    func layout() throws {
        try withDirectory { directory in
            let enrollment = Enrollment(
                server: "https://aggregator.example.net:8443", token: "", configDirectory: directory + "/etc",
                credentialsDirectory: directory + "/state/credentials", defaultSources: Enrollment.sources(meter: true),
                defaultStreams: ["camera": StreamSource.fifo(path: "/run/camera.h264").json])
            try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
            try enrollment.makeCredentialsDirectory()
            #expect(try info(directory + "/state/credentials").st_mode & 0o777 == 0o700)
            #expect(enrollment.credentials.keyFile == directory + "/state/credentials/device.key")
            try enrollment.writeConfiguration(try response(for: DeviceCredentials.makeKey(), serial: "01"))
            let loaded = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: directory + "/etc/agent.json")
            #expect(loaded.mqtt.keyFile == directory + "/state/credentials/device.key")
            #expect(loaded.mqtt.certFile == directory + "/state/credentials/device.pem")
            #expect(loaded.mqtt.caFile == directory + "/state/credentials/ca.pem")
            #expect(loaded.sources.map(\.name) == ["system", "meter"])
            #expect(loaded.sources.map(\.type) == [.system, .meter])
            #expect(loaded.sources[0].intervalS == 30 && loaded.sources[1].intervalS == 1)
            #expect(loaded.streams["camera"] == .fifo(path: "/run/camera.h264"))

            // An operator's own sources are never replaced by the defaults.
            let custom = #"{"device_id": "x", "sources": [{"type": "system", "name": "mine", "interval_s": 5}]}"#
            try Data(custom.utf8).write(to: URL(fileURLWithPath: enrollment.configFile))
            try enrollment.writeConfiguration(try response(for: DeviceCredentials.makeKey(), serial: "02"))
            let again = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: enrollment.configFile)
            #expect(again.sources.map(\.name) == ["mine"])
        }
    }

    @Test("as root, the credentials directory and every file in it belong to the service user; the key stays 0600",
          .enabled(if: geteuid() == 0, "changing a file's owner needs root (CI runs as root)"))
    func ownedByServiceUser() throws {
        try withDirectory { directory in
            let nobody = try #require(DeviceCredentials.Owner.named("nobody"))
            let enrollment = Enrollment(server: "https://aggregator.example.net:8443", token: "", configDirectory: directory + "/etc",
                                        credentialsDirectory: directory + "/credentials", owner: nobody)
            try enrollment.makeCredentialsDirectory()
            let key = try DeviceCredentials.makeKey()
            try enrollment.credentials.install(try response(for: key, serial: "03"), key: key, device: device)
            for path in [directory + "/credentials", enrollment.credentials.keyFile, enrollment.credentials.certificateFile,
                         enrollment.credentials.caFile] {
                let owner = try info(path)
                #expect(owner.st_uid == nobody.user && owner.st_gid == nobody.group, "\(path)")
            }
            #expect(try info(enrollment.credentials.keyFile).st_mode & 0o777 == 0o600)
            #expect(DeviceCredentials.Owner.of(enrollment.credentials.keyFile) == nobody)
        }
    }

    @Test("renewal's key is written before anything is sent and reused until installed; an issued certificate is kept for it")
    func pendingKey() throws {
        try withDirectory { directory in
            let credentials = DeviceCredentials(keyFile: directory + "/device.key", certificateFile: directory + "/device.pem",
                                                caFile: directory + "/ca.pem")
            let first = try credentials.pendingKey()
            #expect(try info(credentials.pendingKeyFile).st_mode & 0o777 == 0o600)
            let second = try credentials.pendingKey()
            #expect(try second.pemRepresentation() == first.pemRepresentation())
            #expect(credentials.pendingResponse(for: first) == nil)

            let issued = try response(for: first, serial: "0a")
            try credentials.keepPending(issued)
            #expect(credentials.pendingResponse(for: first) == issued)
            // Not for another key, and not once expired.
            #expect(credentials.pendingResponse(for: try DeviceCredentials.makeKey()) == nil)
            #expect(credentials.pendingResponse(for: first, now: Date().addingTimeInterval(7_200)) == nil)

            try credentials.install(issued, key: first, device: device)
            #expect(access(credentials.pendingKeyFile, F_OK) != 0 && access(credentials.pendingCertificateFile, F_OK) != 0)
            #expect(try credentials.currentCertificate().publicKey == first.publicKey)
            let next = try credentials.pendingKey()
            #expect(next.publicKey != first.publicKey)
        }
    }

    @Test("a credentials directory that cannot be written fails before a key is sent: file_write_failed naming the file")
    func unwritableFailsFirst() throws {
        try withDirectory { directory in
            // A path below a regular file cannot be created, even by root.
            try Data().write(to: URL(fileURLWithPath: directory + "/file"))
            let credentials = DeviceCredentials(keyFile: directory + "/file/device.key", certificateFile: directory + "/file/device.pem",
                                                caFile: directory + "/file/ca.pem")
            let error = #expect(throws: EnrollmentError.self) { _ = try credentials.pendingKey() }
            #expect(error?.code == .fileWriteFailed)
            #expect(error?.context == "cannot write \(directory)/file/device.key.pending: Not a directory")
        }
    }
}
