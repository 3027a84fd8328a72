/// A device's identity: `[a-z0-9][a-z0-9-]{0,62}`.
///
/// It is the certificate's CN, the MQTT username and the MQTT client id, so it is
/// validated once at every boundary and then carried as this type.
public struct DeviceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Maximum length of a device id, in bytes.
    public static let maxLength = 63

    /// Fails unless `rawValue` matches the device id pattern.
    public init?(_ rawValue: String) {
        guard DeviceID.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Validates without allocating: ASCII lower-case letters, digits and `-`, not leading with `-`.
    public static func isValid(_ candidate: String) -> Bool {
        let bytes = candidate.utf8
        guard let first = bytes.first, bytes.count <= maxLength else { return false }
        guard isLowerAlnum(first) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    public var description: String { rawValue }
    public static func < (lhs: DeviceID, rhs: DeviceID) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension DeviceID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let id = DeviceID(raw) else {
            throw WireError(.invalidDeviceID, "device id \(raw.prefix(80).debugDescription) does not match [a-z0-9][a-z0-9-]{0,62}").decoding(at: decoder)
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
