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
    /// Serial (lower-case hex of its bytes, no DER sign padding) of the certificate the agent connected
    /// with, so the centre can show which one a device actually uses. Optional: older agents omit it.
    public var certSerial: String?
    /// That certificate's `notAfter`, UTC ms since the epoch.
    public var certNotAfter: Int64?

    public init(
        device: DeviceID, status: Status, ts: Int64, version: String? = nil,
        bufferDepth: Int64? = nil, oldestUnackedAgeMs: Int64? = nil, dropped: Int64? = nil,
        certSerial: String? = nil, certNotAfter: Int64? = nil
    ) {
        self.v = Self.schemaVersion
        self.device = device
        self.status = status
        self.ts = ts
        self.version = version
        self.bufferDepth = bufferDepth
        self.oldestUnackedAgeMs = oldestUnackedAgeMs
        self.dropped = dropped
        self.certSerial = certSerial
        self.certNotAfter = certNotAfter
    }

    public var deviceField: DeviceID? { device }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard ts >= limits.minTimestampMs, ts <= nowMs + limits.maxFutureSkewMs else {
            throw WireError(.timestampOutOfRange, "state ts \(ts) is outside the accepted range")
        }
        guard (version?.utf8.count ?? 0) <= 64 else { throw WireError(.fieldTooLong, "version is longer than 64 bytes") }
        if let certSerial, !Self.isSerial(certSerial) {
            throw WireError(.wrongType, "certSerial must be 1-64 lower-case hex digits")
        }
        for (name, value) in [("bufferDepth", bufferDepth), ("oldestUnackedAgeMs", oldestUnackedAgeMs), ("dropped", dropped),
                              ("certNotAfter", certNotAfter)] {
            if let value, value < 0 { throw WireError(.wrongType, "\(name) must not be negative") }
        }
    }

    /// `[0-9a-f]{1,64}`: an X.509 serial is at most 20 bytes; 64 leaves room without letting text through.
    static func isSerial(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
