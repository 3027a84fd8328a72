import Foundation
import OutpostSupport

/// The SRTP master key a camera's stream is encrypted with (live view and recording), as the
/// text commands carry (base64), and how it is hidden wherever a command's arguments are shown
/// or kept.
public enum SRTPKeyText {
    /// The text that replaces an SRTP key wherever a command's arguments are shown or kept.
    public static let redactedKey = "[redacted]"
    /// SRTP master key (16 bytes) + salt (14 bytes) for AES_CM_128_HMAC_SHA1_80.
    static let bytes = 30

    /// A fresh SRTP master key and salt, base64 (RFC 4568 inline key without the prefix).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    /// `args` with any `srtpKey` replaced by ``redactedKey``.
    public static func redacted(_ args: JSONValue) -> JSONValue {
        guard case .object(var members) = args, let key = members["srtpKey"], key != .null else { return args }
        members["srtpKey"] = .string(redactedKey)
        return .object(members)
    }
}
