import Foundation
import Logging
import Testing
@testable import OutpostMQTT

/// A TLS file the client cannot use is refused before libmosquitto sees it, with an error
/// that names the file and the reason; a broker's refusal of our certificate is recognised
/// in OpenSSL's log line.
@Suite("TLS files and certificate refusals")
struct TLSFilesTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    @Test("missing, a directory, empty and not PEM are each named; a PEM file passes")
    func problems() throws {
        try withDirectory { directory in
            #expect(TLSFiles.problem(directory + "/absent.pem") == "missing")
            #expect(TLSFiles.problem(directory) == "Is a directory")
            try Data().write(to: URL(fileURLWithPath: directory + "/empty.pem"))
            #expect(TLSFiles.problem(directory + "/empty.pem") == "empty")
            try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: directory + "/text.pem"))
            #expect(TLSFiles.problem(directory + "/text.pem") == "not PEM (no -----BEGIN line)")
            try Data("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".utf8)
                .write(to: URL(fileURLWithPath: directory + "/ok.pem"))
            #expect(TLSFiles.problem(directory + "/ok.pem") == nil)
        }
    }

    @Test("an unreadable key is refused as permission denied, with the process's ids and the file's owner")
    func permissionDenied() throws {
        try withDirectory { directory in
            let key = directory + "/device.key"
            try Data("-----BEGIN PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: key))
            chmod(key, 0o000)
            if geteuid() == 0 {
                // Root reads any file; the check must not refuse what libmosquitto could read.
                #expect(TLSFiles.problem(key) == nil)
            } else {
                let reason = try #require(TLSFiles.problem(key))
                #expect(reason.hasPrefix("permission denied for uid \(geteuid()) gid \(getegid()); the file is 00 owned by \(geteuid()):"))
            }
        }
    }

    @Test("MQTTClient refuses a configuration whose key file is missing: invalid_configuration naming the key file")
    func clientNamesTheFile() throws {
        try withDirectory { directory in
            let ca = directory + "/ca.pem"
            try Data("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: ca))
            let configuration = MQTTConfiguration(
                host: "127.0.0.1", port: 1, clientID: "tls-check",
                tls: .init(caFile: ca, certificateFile: ca, keyFile: directory + "/device.key"))
            let error = #expect(throws: MQTTError.self) { _ = try MQTTClient(configuration: configuration, logger: Logger(label: "test")) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.context == "TLS key file \(directory)/device.key: missing")
        }
    }

    @Test("OpenSSL's alerts that refuse our certificate are recognised; other TLS errors are not")
    func alerts() {
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A000414:SSL routines::sslv3 alert certificate revoked")
            == "alert certificate revoked")
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A000415:SSL routines::sslv3 alert certificate expired")
            == "alert certificate expired")
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate")
            == "alert bad certificate")
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A00045C:SSL routines::tlsv13 alert certificate required")
            == "alert certificate required")
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed") == nil)
        #expect(TLSAlert.certificateRefusal(in: "OpenSSL Error[0]: error:0A000410:SSL routines::sslv3 alert handshake failure") == nil)
        #expect(TLSAlert.certificateRefusal(in: "Client tls-check sending CONNECT") == nil)
    }
}
