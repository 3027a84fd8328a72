import Foundation
import OutpostAgent
import OutpostWire
import Testing

@Suite("Renewal policy and enrollment tokens (pure)")
struct RenewalPolicyTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("renews at two thirds of the lifetime, moved by at most the jitter")
    func renewalDate() {
        let policy = RenewalPolicy()
        let end = start.addingTimeInterval(30 * 86_400)
        #expect(policy.renewalDate(notBefore: start, notAfter: end, random: 0) == start.addingTimeInterval(20 * 86_400))
        let early = policy.renewalDate(notBefore: start, notAfter: end, random: -1).timeIntervalSince(start)
        let late = policy.renewalDate(notBefore: start, notAfter: end, random: 1).timeIntervalSince(start)
        #expect(abs(early - 30 * 86_400 * (2.0 / 3 - 0.05)) < 1)
        #expect(abs(late - 30 * 86_400 * (2.0 / 3 + 0.05)) < 1)
        #expect(policy.renewalDate(notBefore: start, notAfter: end, random: 7) == policy.renewalDate(notBefore: start, notAfter: end, random: 1))
    }

    @Test("retries back off exponentially but never past a tenth of the time left")
    func retries() {
        let policy = RenewalPolicy()
        let farEnd = start.addingTimeInterval(30 * 86_400)
        #expect(policy.retryDelay(attempt: 1, now: start, notAfter: farEnd) == .seconds(5))
        #expect(policy.retryDelay(attempt: 3, now: start, notAfter: farEnd) == .seconds(20))
        #expect(policy.retryDelay(attempt: 20, now: start, notAfter: farEnd) == .seconds(600))
        #expect(policy.retryDelay(attempt: 20, now: start, notAfter: start.addingTimeInterval(100)) == .seconds(10))
        #expect(policy.retryDelay(attempt: 20, now: start, notAfter: start.addingTimeInterval(5)) == .seconds(1))
    }

    @Test("tokens round-trip, bind a device, and never print their secret")
    func tokens() throws {
        let fingerprint = try #require(CertificateFingerprint(String(repeating: "ab", count: 32)))
        let secret = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let token = EnrollmentToken(device: DeviceID("meter-9")!, secret: secret, caFingerprint: fingerprint)
        let parsed = try #require(EnrollmentToken(token.printed))
        #expect(parsed == token)
        #expect(parsed.device.rawValue == "meter-9")
        #expect(!"\(token)".contains(Base64URL.encode(secret)))
        #expect(EnrollmentToken("opt1.meter-9.short.\(fingerprint.hex)") == nil)
        #expect(EnrollmentToken("opt2.meter-9.\(Base64URL.encode(secret)).\(fingerprint.hex)") == nil)
        #expect(EnrollmentToken("opt1.Meter_9.\(Base64URL.encode(secret)).\(fingerprint.hex)") == nil)
        #expect(CertificateFingerprint(fingerprint.hex.uppercased()) == fingerprint)
        let colons = stride(from: 0, to: 64, by: 2).map { index in
            String(Array(fingerprint.hex)[index...index + 1])
        }.joined(separator: ":")
        #expect(CertificateFingerprint(colons) == fingerprint)
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }
}
