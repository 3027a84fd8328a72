/// The stream's current SPS and PPS, as the SDP and the keyframe reactions need them.
public struct ParameterSets: Sendable, Hashable {
    public var sps: H264NALUnit
    public var pps: H264NALUnit

    public init(sps: H264NALUnit, pps: H264NALUnit) {
        self.sps = sps
        self.pps = pps
    }

    /// `profile-level-id` (RFC 6184 §8.1): profile_idc, the constraint flags and level_idc,
    /// the three bytes after the SPS header, as six hex digits.
    public var profileLevelID: String? {
        guard sps.bytes.count >= 4 else { return nil }
        return sps.bytes[1...3].map { hex($0) }.joined()
    }

    /// `sprop-parameter-sets`: base64 of SPS and PPS, comma-separated.
    public var spropParameterSets: String {
        "\(Base64.encode(sps.bytes)),\(Base64.encode(pps.bytes))"
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

/// Tracks the latest SPS and PPS seen in a stream.
public struct ParameterSetTracker: Sendable {
    public private(set) var sps: H264NALUnit?
    public private(set) var pps: H264NALUnit?

    public init() {}

    public mutating func observe(_ unit: H264NALUnit) {
        if unit.type == H264NALUnit.Kind.sps { sps = unit }
        if unit.type == H264NALUnit.Kind.pps { pps = unit }
    }

    public var current: ParameterSets? {
        guard let sps, let pps else { return nil }
        return ParameterSets(sps: sps, pps: pps)
    }
}

/// Standard base64 (RFC 4648 §4), with padding.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
