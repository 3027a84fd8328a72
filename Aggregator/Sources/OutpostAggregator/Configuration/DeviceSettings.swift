import OutpostSupport

/// The `devices` section: presence tracking.
public struct DeviceSettings: Codable, Sendable, Equatable {
    /// A device that sent nothing for this long is marked offline, even without a last
    /// will (a broker that died with it, a cut cable). Defaults to 300 s.
    public var offlineAfterSeconds: Int
    /// How often last-seen times and events are written, in one statement each (state
    /// messages go within a few ms, ``PresenceService``). Defaults to 1,000 ms.
    public var flushIntervalMs: Int
    /// Most devices whose last-seen time waits in memory for the next flush; reaching
    /// it flushes early. Defaults to 100,000.
    public var maxPendingDevices: Int

    public init(offlineAfterSeconds: Int = 300, flushIntervalMs: Int = 1_000, maxPendingDevices: Int = 100_000) {
        self.offlineAfterSeconds = offlineAfterSeconds
        self.flushIntervalMs = flushIntervalMs
        self.maxPendingDevices = maxPendingDevices
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        offlineAfterSeconds = try container.value(.offlineAfterSeconds, default: 300, where: { (1...604_800).contains($0) },
                                                  "must be 1-604800 seconds")
        flushIntervalMs = try container.value(.flushIntervalMs, default: 1_000, where: { (10...60_000).contains($0) },
                                              "must be 10-60000 ms")
        maxPendingDevices = try container.value(.maxPendingDevices, default: 100_000, where: { (1...10_000_000).contains($0) },
                                                "must be 1-10000000")
    }
}
