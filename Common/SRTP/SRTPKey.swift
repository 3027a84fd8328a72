#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostStreaming

/// The master key and salt of one SRTP session (AES_CM_128_HMAC_SHA1_80, RFC 3711): 16 key
/// bytes then 14 salt bytes, written as base64 the way SDES `inline:` and Janus's
/// `srtpcrypto` do. The key is a secret: it never appears in a description, a log line or
/// an event.
public struct SRTPKey: Sendable, Hashable, CustomStringConvertible {
    /// Key plus salt, in bytes.
    public static let length = 30

    let bytes: [UInt8]

    public init(base64: String) throws(StreamError) {
        guard let data = Data(base64Encoded: base64), data.count == Self.length else {
            throw StreamError(.invalidRequest, "srtpKey must be base64 of \(Self.length) bytes (AES_CM_128_HMAC_SHA1_80 key and salt)")
        }
        bytes = Array(data)
    }

    /// A fresh key from the system's cryptographic random source.
    public static func random() -> SRTPKey {
        var generator = SystemRandomNumberGenerator()
        return SRTPKey(bytes: (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    public var base64: String { Data(bytes).base64EncodedString() }

    public var description: String { "SRTPKey(AES_CM_128_HMAC_SHA1_80, redacted)" }
}
