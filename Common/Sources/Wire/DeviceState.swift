/// A device's presence and health, retained on `outpost/v1/{device}/state`.
///
/// The agent publishes `online` at birth and on change; the broker publishes the
/// agent's last will, `offline`, when its connection dies without a DISCONNECT.
/// A will's `ts` is the time the connection was made, so the centre takes the
/// transition time from when it received the message.
public struct DeviceState: WireMessage {
    public static let schemaVersion = 1

    public enum Status: String, Sendable, Codable, Hashable {
        case online
        case offline
    }

    public var v: Int
    public var device: DeviceID
    public var status: Status
    public var ts: Int64
    public var version: String?
    public var bufferDepth: Int64?
    public var oldestUnackedAgeMs: Int64?
    public var dropped: Int64?

    public init(
        device: DeviceID, status: Status, ts: Int64, version: String? = nil,
        bufferDepth: Int64? = nil, oldestUnackedAgeMs: Int64? = nil, dropped: Int64? = nil
    ) {
        self.v = Self.schemaVersion
        self.device = device
        self.status = status
        self.ts = ts
        self.version = version
        self.bufferDepth = bufferDepth
        self.oldestUnackedAgeMs = oldestUnackedAgeMs
        self.dropped = dropped
    }

    public var deviceField: DeviceID? { device }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard ts >= limits.minTimestampMs, ts <= nowMs + limits.maxFutureSkewMs else {
            throw WireError(.timestampOutOfRange, "state ts \(ts) is outside the accepted range")
        }
        guard (version?.utf8.count ?? 0) <= 64 else { throw WireError(.fieldTooLong, "version is longer than 64 bytes") }
        for (name, value) in [("bufferDepth", bufferDepth), ("oldestUnackedAgeMs", oldestUnackedAgeMs), ("dropped", dropped)] {
            if let value, value < 0 { throw WireError(.wrongType, "\(name) must not be negative") }
        }
    }
}
