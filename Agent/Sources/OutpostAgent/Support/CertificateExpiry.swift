#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads `notAfter` from the first certificate of a PEM file, with a minimal DER walk
/// (Certificate → TBSCertificate → Validity), so `status` needs no X.509 library.
public enum CertificateExpiry {
    /// UTC ms since the epoch, or nil when the file holds no readable certificate.
    public static func notAfterMs(pemFile path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return notAfterMs(pem: text)
    }

    public static func notAfterMs(pem: String) -> Int64? {
        firstCertificate(pem: pem).flatMap(notAfterMs(der:))
    }

    /// The serial (lower-case hex of the integer's bytes, as the centre lists it) and `notAfter`
    /// of the first certificate of a PEM file; nil when it holds no readable certificate.
    public static func identity(pemFile path: String) -> (serial: String, notAfterMs: Int64)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let der = firstCertificate(pem: text),
              let serial = serialHex(der: der), let notAfter = notAfterMs(der: der) else { return nil }
        return (serial, notAfter)
    }

    static func firstCertificate(pem: String) -> [UInt8]? {
        let begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----"
        guard let start = pem.firstRange(of: begin), let stop = pem[start.upperBound...].firstRange(of: end) else { return nil }
        let base64 = pem[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(base64)).map { [UInt8]($0) }
    }

    static func serialHex(der: [UInt8]) -> String? {
        var reader = DERReader(bytes: der[...])
        guard var certificate = reader.enter(tag: 0x30), var tbs = certificate.enter(tag: 0x30) else { return nil }
        if tbs.peekTag == 0xA0 { _ = tbs.skip() }  // version
        guard let (tag, value) = tbs.next(), tag == 0x02, !value.isEmpty, value.count <= 32 else { return nil }
        // The magnitude, as the centre lists serials: without the 0x00 that DER puts before a high bit.
        let magnitude = value.drop { $0 == 0 }
        let digits: [Character] = Array("0123456789abcdef")
        return magnitude.isEmpty ? "00" : String(magnitude.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }

    static func notAfterMs(der: [UInt8]) -> Int64? {
        var reader = DERReader(bytes: der[...])
        guard var certificate = reader.enter(tag: 0x30), var tbs = certificate.enter(tag: 0x30) else { return nil }
        if tbs.peekTag == 0xA0 { _ = tbs.skip() }  // version
        guard tbs.skip(), tbs.skip(), tbs.skip(), var validity = tbs.enter(tag: 0x30) else { return nil }  // serial, signature, issuer
        guard validity.skip(), let (tag, value) = validity.next() else { return nil }  // notBefore
        return parseTime(tag: tag, Array(value))
    }

    /// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ).
    static func parseTime(tag: UInt8, _ bytes: [UInt8]) -> Int64? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasSuffix("Z") else { return nil }
        let digits = Array(text.dropLast())
        guard digits.allSatisfy(\.isNumber) else { return nil }
        func number(_ from: Int, _ length: Int) -> Int { Int(String(digits[from..<from + length]))! }
        let year: Int, offset: Int
        switch (tag, digits.count) {
        case (0x17, 12):
            let short = number(0, 2)
            year = short >= 50 ? 1900 + short : 2000 + short
            offset = 2
        case (0x18, 14):
            year = number(0, 4)
            offset = 4
        default: return nil
        }
        let month = number(offset, 2), day = number(offset + 2, 2)
        let hour = number(offset + 4, 2), minute = number(offset + 6, 2), second = number(offset + 8, 2)
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(((days * 24 + hour) * 60 + minute) * 60 + second) * 1000
    }
}

/// Reads DER tag-length-value items from a byte slice.
struct DERReader {
    var bytes: ArraySlice<UInt8>

    var peekTag: UInt8? { bytes.first }

    mutating func next() -> (tag: UInt8, value: ArraySlice<UInt8>)? {
        guard bytes.count >= 2 else { return nil }
        var index = bytes.startIndex
        let tag = bytes[index]
        index += 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { return nil }
        let value = bytes[index..<index + length]
        bytes = bytes[(index + length)...]
        return (tag, value)
    }

    mutating func enter(tag expected: UInt8) -> DERReader? {
        guard let (tag, value) = next(), tag == expected else { return nil }
        return DERReader(bytes: value)
    }

    mutating func skip() -> Bool { next() != nil }
}
