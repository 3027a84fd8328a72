import OutpostSupport

/// The `publisher` section of the agent configuration.
public struct PublisherSettings: Codable, Sendable, Equatable {
    /// Most readings in one telemetry message. Defaults to 500 (about 30 KB of JSON).
    public var batchSize: Int
    /// Most batches sent and not yet acknowledged. Defaults to 8.
    public var window: Int
    /// A batch not acknowledged after this long is sent again. Defaults to 30 s.
    public var ackTimeoutS: Double
    /// Readings per second the backlog drains at, at most. Defaults to 100,000. The rate starts at
    /// 5,000 (or this, if lower) and adapts to the centre's ack latency and pressure (``DrainController``).
    public var drainRate: Double
    /// Ack latency above which the drain rate and window are halved. Defaults to 500 ms.
    public var drainLatencyTargetMs: Int
    /// Seconds between state messages (besides birth and shutdown). Defaults to 60.
    public var stateIntervalS: Double
    /// MQTT session expiry, so acks and commands sent while offline still arrive. Defaults to 3,600 s.
    public var sessionExpiryS: Int

    public init(batchSize: Int = 500, window: Int = 8, ackTimeoutS: Double = 30, drainRate: Double = 100_000,
                stateIntervalS: Double = 60, sessionExpiryS: Int = 3_600, drainLatencyTargetMs: Int = 500) {
        self.batchSize = batchSize
        self.window = window
        self.ackTimeoutS = ackTimeoutS
        self.drainRate = drainRate
        self.drainLatencyTargetMs = drainLatencyTargetMs
        self.stateIntervalS = stateIntervalS
        self.sessionExpiryS = sessionExpiryS
    }

    /// The drain rate's controller: starts at 5,000 readings/s (or `drain_rate` if lower), never
    /// below one batch per second, doubles per round trip until the first slow ack or pressure,
    /// then adds four batches per second per round trip within the target;
    /// its window of batches in flight starts at one batch of a tenth of `batch_size` and grows to
    /// `window` full batches.
    public var drainController: DrainController {
        DrainController(initial: min(5_000, drainRate), minimum: min(Double(batchSize), drainRate), maximum: drainRate,
                        targetLatencyMs: Int64(drainLatencyTargetMs), increaseStep: Double(4 * batchSize), maximumWindow: window,
                        batchRange: max(1, batchSize / 10)...batchSize)
    }

    /// The token bucket the controller moves: its starting rate, and a burst of one batch, so
    /// that a fleet reconnecting at once paces its first batches instead of sending whole
    /// windows into the centre's queue together.
    public var drainBucket: DrainRate {
        DrainRate(readingsPerSecond: drainController.readingsPerSecond, burst: Double(batchSize))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try container.value(.batchSize, default: 500, where: { (1...2_000).contains($0) }, "must be 1-2000 (the wire cap)")
        window = try container.value(.window, default: 8, where: { (1...256).contains($0) }, "must be 1-256")
        ackTimeoutS = try container.value(.ackTimeoutS, default: 30, where: { $0 >= 0.1 && $0 <= 3_600 }, "must be 0.1-3600 s")
        drainRate = try container.value(.drainRate, default: 100_000, where: { $0 >= 1 && $0 <= 1_000_000 }, "must be 1-1000000 readings/s")
        drainLatencyTargetMs = try container.value(.drainLatencyTargetMs, default: 500, where: { (10...60_000).contains($0) },
                                                   "must be 10-60000 ms")
        stateIntervalS = try container.value(.stateIntervalS, default: 60, where: { $0 >= 1 && $0 <= 86_400 }, "must be 1-86400 s")
        sessionExpiryS = try container.value(.sessionExpiryS, default: 3_600, where: { (0...604_800).contains($0) }, "must be 0-604800 s")
    }
}
