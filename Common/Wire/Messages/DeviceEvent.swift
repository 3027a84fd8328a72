import OutpostSupport

/// Something a device reports besides readings, on `outpost/v1/{device}/events`:
/// stream statistics, buffer clean-ups, warnings.
public struct DeviceEvent: WireMessage {
    public static let schemaVersion = 1

    /// Kinds the agent emits today. The field is open: the centre stores any valid kind.
    public enum Kind {
        public static let streamStats = "stream_stats"
        public static let streamState = "stream_state"
        public static let bufferDropped = "buffer_dropped"
        public static let bufferRecovered = "buffer_recovered"
        public static let sourceError = "source_error"
        public static let warning = "warning"
    }

    public var v: Int
    public var device: DeviceID
    public var ts: Int64
    /// `[a-z][a-z0-9_]{0,63}`.
    public var kind: String
    public var data: JSONValue

    public init(device: DeviceID, ts: Int64, kind: String, data: JSONValue = [:]) {
        self.v = Self.schemaVersion
        self.device = device
        self.ts = ts
        self.kind = kind
        self.data = data
    }

    public var deviceField: DeviceID? { device }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard Command.isValidName(kind) else { throw WireError(.invalidEventKind, "event kind is not a valid name") }
        guard ts >= limits.minTimestampMs, ts <= nowMs + limits.maxFutureSkewMs else {
            throw WireError(.timestampOutOfRange, "event ts \(ts) is outside the accepted range")
        }
        guard data.depth <= limits.maxNestingDepth else { throw WireError(.nestingTooDeep, "event data nests too deep") }
        guard data.isFinite else { throw WireError(.nonFiniteValue, "event data holds a non-finite number") }
    }
}
