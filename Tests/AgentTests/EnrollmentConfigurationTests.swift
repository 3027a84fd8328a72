import Foundation
@testable import OutpostAgent
import OutpostSupport
import OutpostWire
import Testing

/// The agent writes `agent.json` and parses PEM with FoundationEssentials only; these tests
/// hold it to what the full-Foundation code (JSONSerialization, NSString, range(of:)) did.
@Suite("Enrollment writes agent.json as before (FoundationEssentials)")
struct EnrollmentConfigurationTests {
    let response = CertificateResponse(
        deviceId: "meter-0042", certificate: "", caCertificate: "", serial: "0a1b", notAfter: 1_900_000_000,
        broker: .init(host: "broker.example.net", port: 8883), config: .init(keepalive: 45, verifyHostname: true))

    /// What the agent wrote with JSONSerialization, kept here as the reference.
    func reference(existing: Data?, directory: String) throws -> [UInt8] {
        var root = existing.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        var mqtt = root["mqtt"] as? [String: Any] ?? [:]
        mqtt["host"] = response.broker.host
        mqtt["port"] = response.broker.port
        mqtt["ca_file"] = directory + "/ca.pem"
        mqtt["cert_file"] = directory + "/device.pem"
        mqtt["key_file"] = directory + "/device.key"
        mqtt["keepalive"] = response.config.keepalive
        mqtt["verify_hostname"] = response.config.verifyHostname
        root["mqtt"] = mqtt
        root["device_id"] = response.deviceId
        var enrollment = root["enrollment"] as? [String: Any] ?? [:]
        enrollment["server_url"] = "https://aggregator.example.net:8443"
        root["enrollment"] = enrollment
        return Array(try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) + [UInt8(ascii: "\n")]
    }

    func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-enroll-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    @Test("an existing agent.json keeps every other key, byte for byte as JSONSerialization wrote it")
    func keepsUnknownKeys() throws {
        try withDirectory { directory in
            let existing = """
                {"device_id": "old", "future_section": {"x": [1, 2.5, "a/b", null, {}], "flag": false},
                 "mqtt": {"host": "old", "port": 1883, "client_tag": "é\\u0001\\"", "keepalive": 60},
                 "sources": [{"type": "meter", "interval_s": 0.5, "scale": 1e3}], "buffer": {"max_rows": 123456789012}}
                """
            let file = directory + "/agent.json"
            try Data(existing.utf8).write(to: URL(fileURLWithPath: file))
            let enrollment = Enrollment(server: "https://aggregator.example.net:8443/", token: "", configDirectory: directory)
            #expect(enrollment.configFile == file)
            try enrollment.writeConfiguration(response)

            let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(written == (try reference(existing: Data(existing.utf8), directory: directory)))
            let tree = try JSONDecoder().decode(JSONValue.self, from: Data(written))
            #expect(tree["future_section"]?["flag"] == .bool(false))
            #expect(tree["buffer"]?["max_rows"]?.intValue == 123_456_789_012)
            #expect(tree["mqtt"]?["client_tag"] == .string("é\u{1}\""))
            #expect(tree["mqtt"]?["port"]?.intValue == 8883)
            #expect(tree["device_id"] == .string("meter-0042"))
            var info = stat()
            #expect(stat(file, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o644)
        }
    }

    @Test("no agent.json, or one that is not an object: written from scratch, as before")
    func freshFile() throws {
        try withDirectory { directory in
            let enrollment = Enrollment(server: "https://aggregator.example.net:8443", token: "", configDirectory: directory + "/")
            #expect(enrollment.configFile == directory + "/agent.json")
            #expect(enrollment.credentials.keyFile == directory + "/device.key")
            try enrollment.writeConfiguration(response)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: enrollment.configFile)))
                == (try reference(existing: nil, directory: directory)))

            try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: enrollment.configFile))
            try enrollment.writeConfiguration(response)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: enrollment.configFile)))
                == (try reference(existing: nil, directory: directory)))
        }
    }

    @Test("PEM parsing finds the certificate between other text and refuses a missing END line")
    func pem() {
        let der: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x07]
        let body = Data(der).base64EncodedString()
        let pem = "subject=CN x\n-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\ntrailer\n"
        #expect(PEMCertificate.der(fromPEM: pem) == der)
        #expect(PEMCertificate.der(fromPEM: "-----BEGIN CERTIFICATE-----\n\(body)\n") == nil)
        #expect(PEMCertificate.der(fromPEM: "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n\(body)\n") == nil)
    }
}
