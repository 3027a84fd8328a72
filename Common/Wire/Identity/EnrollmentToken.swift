import OutpostSupport

/// A one-time enrollment token as an operator copies it to a device:
/// `opt1.{device}.{secret}.{ca-fingerprint}`.
///
/// - `device`: the device id the token is bound to (not secret; the device's CSR names it).
/// - `secret`: 32 random bytes, base64url without padding (43 characters). The aggregator
///   stores only its SHA-256; a 256-bit random secret needs no slow password hash, since
///   nobody can guess it and a leaked hash cannot be reversed into it.
/// - `ca-fingerprint`: SHA-256 of the fleet CA certificate's DER, 64 lower-case hex digits.
///   The device trusts the config endpoint only through a CA with this fingerprint, so the
///   token alone is enough to enroll safely over an untrusted network.
///
/// Parsing checks the shape only; whether the token is known, unused and unexpired is the
/// aggregator's decision. Its description never shows the secret.
public struct EnrollmentToken: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "opt1"
    public static let secretLength = 32

    public let device: DeviceID
    /// The secret bytes; hashed by the aggregator, never logged.
    public let secret: Redacted<[UInt8]>
    public let caFingerprint: CertificateFingerprint

    public init(device: DeviceID, secret: [UInt8], caFingerprint: CertificateFingerprint) {
        self.device = device
        self.secret = Redacted(secret)
        self.caFingerprint = caFingerprint
    }

    /// Parses the printed form; nil when it is not an Outpost token.
    public init?(_ text: String) {
        let parts = text.trimmingWhitespaceAndNewlines.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == Self.prefix, let device = DeviceID(String(parts[1])),
              let secret = Base64URL.decode(String(parts[2])), secret.count == Self.secretLength,
              let fingerprint = CertificateFingerprint(String(parts[3]))
        else { return nil }
        self.init(device: device, secret: secret, caFingerprint: fingerprint)
    }

    /// The form an operator copies. It holds the secret: print it only to the operator.
    public var printed: String { "\(Self.prefix).\(device).\(Base64URL.encode(secret.value)).\(caFingerprint.hex)" }

    public var description: String { "\(Self.prefix).\(device).<redacted>.\(caFingerprint.hex)" }
}

/// The SHA-256 fingerprint of a certificate's DER encoding.
public struct CertificateFingerprint: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Accepts 64 hex digits, upper or lower case, with or without `:` separators
    /// (the way `openssl x509 -fingerprint -sha256` prints it).
    public init?(_ text: String) {
        let digits = Array(text.trimmingWhitespaceAndNewlines.utf8.filter { $0 != UInt8(ascii: ":") })
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Base64url without padding (RFC 4648 §5), for tokens that survive shells and URLs.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            let characters = chunk.count + 1
            for position in 0..<characters { out.append(alphabet[Int((value >> (18 - 6 * position)) & 0x3f)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var value: UInt32 = 0
            for (offset, sextet) in chunk.enumerated() { value |= UInt32(sextet) << (18 - 6 * offset) }
            for position in 0..<(chunk.count - 1) { out.append(UInt8((value >> (16 - 8 * position)) & 0xff)) }
            index += 4
        }
        return out
    }
}

extension String {
    /// The string without leading and trailing white space (Unicode), without Foundation.
    public var trimmingWhitespaceAndNewlines: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
