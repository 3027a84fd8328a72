import Foundation
import Testing
import TestHarness
@testable import OutpostAgent

/// The serial and expiry the agent reports in `state`, read from certificates openssl made.
@Suite("Certificate identity from PEM")
struct CertificateIdentityTests {
    @Test("serial as lower-case hex of its bytes (no DER sign padding) and notAfter, for a small and a high-bit serial")
    func serialAndExpiry() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-cert-id")
        defer { directory.remove() }
        for (serial, expected) in [("0x7F3A0C", "7f3a0c"), ("0x80112233445566778899", "80112233445566778899")] {
            let pem = directory.file("cert-\(expected).pem")
            _ = try await runTool("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory.file("key.pem"),
                "-out", pem, "-subj", "/CN=meter-1", "-days", "30", "-set_serial", serial,
            ])
            let identity = try #require(CertificateExpiry.identity(pemFile: pem))
            #expect(identity.serial == expected)
            let enddate = try await runTool("/usr/bin/openssl", ["x509", "-in", pem, "-noout", "-enddate", "-dateopt", "iso_8601"])
            // notAfter=2027-01-05 06:44:00Z
            let text = enddate.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "notAfter=", with: "")
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withSpaceBetweenDateAndTime, .withTime, .withColonSeparatorInTime, .withTimeZone]
            let date = try #require(formatter.date(from: text), "\(enddate)")
            #expect(identity.notAfterMs == Int64(date.timeIntervalSince1970 * 1000))
        }
        #expect(CertificateExpiry.identity(pemFile: directory.file("missing.pem")) == nil)
    }
}
