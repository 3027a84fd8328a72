/// The random 64-bit id a device buffer gets when its file is created.
///
/// On the wire it is 16 lower-case hex digits (a JSON number cannot carry 64 bits
/// safely). In PostgreSQL it is a `bigint` holding the same bit pattern.
public struct BufferID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// A fresh id from the system's random generator.
    public static func random() -> BufferID {
        var generator = SystemRandomNumberGenerator()
        return BufferID(generator.next())
    }

    /// Parses exactly 16 lower-case hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 16,
              hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
              let value = UInt64(hex, radix: 16)
        else { return nil }
        self.rawValue = value
    }

    public var hex: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The same bits as a signed integer, for a PostgreSQL `bigint` column.
    public var signedBitPattern: Int64 { Int64(bitPattern: rawValue) }

    public init(signedBitPattern: Int64) { self.rawValue = UInt64(bitPattern: signedBitPattern) }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let id = BufferID(hex: raw) else {
            throw WireError(.invalidBufferID, "buffer id must be 16 lower-case hex digits").decoding(at: decoder)
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
