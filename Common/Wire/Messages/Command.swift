import OutpostSupport

/// An instruction for one device, on `outpost/v1/{device}/cmd`.
public struct Command: WireMessage {
    public static let schemaVersion = 1
    public var v: Int
    /// Unique per command; the result carries it back. `[A-Za-z0-9_-]{1,64}`.
    public var id: String
    /// `[a-z][a-z0-9_]{0,63}`, e.g. `ping`, `set_interval`, `start_stream`.
    public var name: String
    /// A JSON object; its shape is up to the command.
    public var args: JSONValue
    /// UTC ms after which the agent must not run it.
    public var expiresAt: Int64

    public init(id: String, name: String, args: JSONValue = [:], expiresAt: Int64) {
        self.v = Self.schemaVersion
        self.id = id
        self.name = name
        self.args = args
        self.expiresAt = expiresAt
    }

    public func isExpired(nowMs: Int64) -> Bool { nowMs >= expiresAt }

    public static func isValidID(_ id: String) -> Bool {
        let bytes = id.utf8
        return (1...64).contains(bytes.count) && bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= 64, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else {
            return false
        }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_")
        }
    }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard Command.isValidID(id) else { throw WireError(.invalidCommandID, "command id must match [A-Za-z0-9_-]{1,64}") }
        guard Command.isValidName(name) else {
            throw WireError(.invalidCommandName, "command name \(name.prefix(80).debugDescription) is not valid")
        }
        guard case .object = args else { throw WireError(.wrongType, "args must be a JSON object") }
        guard args.depth <= limits.maxNestingDepth else { throw WireError(.nestingTooDeep, "args nest too deep") }
        guard args.isFinite else { throw WireError(.nonFiniteValue, "args hold a non-finite number") }
        guard expiresAt >= limits.minTimestampMs else {
            throw WireError(.timestampOutOfRange, "expiresAt \(expiresAt) is before the accepted range")
        }
    }
}
