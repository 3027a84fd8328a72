/// Additive increase, multiplicative decrease of the drain rate, driven by ack latency and
/// the centre's pressure, after a slow start.
///
/// The centre's signals are the time from sending a batch to its ack, and the ack's
/// `pressure` (how full its ingest queue or router is, 0...1; absent from older centres, which
/// the latency alone then serves). While acks of first sends come back within `targetLatencyMs`
/// with the pressure below `pressureThreshold`, and the rate is what holds the publisher back,
/// the rate grows by `increaseStep` readings/s per round trip (each ack adds its share: its
/// readings over those sent in one latency), so it ramps fast when acks are quick and slowly
/// when the centre is already queueing. An ack slower than the target, or at or above the
/// pressure threshold, halves the rate, at most once per observed latency, so the acks of
/// batches already in flight at the old rate do not halve it again; nothing grows while the
/// pressure stays high. The pressure reports the queue a round trip before the latency of
/// the readings waiting in it does. The rate stays within `minimum...maximum`. From each
/// (re)connect until the first slow ack or pressure (slow start), an on-time ack adds its share
/// of the rate itself instead of `increaseStep`, so the rate doubles per round trip: an idle
/// centre is found in a few round trips, a busy one by its first slow ack.
///
/// The batches in flight follow the same signal (slow start): one batch after each
/// (re)connect, one more per on-time ack up to `maximumWindow`, halved with the rate. A fleet
/// reconnecting at once after an outage then sends one batch per device before any ack can
/// report the centre's queue, instead of whole windows that queue ahead of live devices'
/// readings. With `batchRange`, the readings of each new batch follow the signal too: the
/// smallest batch after each (re)connect, doubled per on-time ack up to the largest before the
/// window grows, halved by a slow ack once the window is down to one batch. The readings in
/// flight then go below one full batch per device, so a slow centre's queue (and with it the
/// live devices' latency) is not held at a whole fleet's batches. Pure value type: the caller
/// passes monotonic milliseconds.
public struct DrainController: Sendable, Equatable {
    public let initial: Double
    public let minimum: Double
    public let maximum: Double
    public let targetLatencyMs: Int64
    public let increaseStep: Double
    public let maximumWindow: Int
    /// An ack's `pressure` at or above this backs off like a slow ack.
    public let pressureThreshold: Double
    public private(set) var readingsPerSecond: Double
    /// Batches the publisher may have unacknowledged now, `1...maximumWindow`.
    public private(set) var windowBatches = 1
    /// The smallest and largest new batch, in readings; nil: the caller's batch size alone.
    public let batchRange: ClosedRange<Int>?
    /// Readings the next new batch may hold (`Int.max` without a `batchRange`).
    public private(set) var batchReadings: Int
    /// No second decrease before this instant (the congestion of one round trip halves once).
    private var holdDecreaseUntilMs = Int64.min
    /// No slow ack or pressure since the last (re)connect: the rate doubles per round trip.
    public private(set) var slowStart = true

    public init(initial: Double, minimum: Double, maximum: Double, targetLatencyMs: Int64, increaseStep: Double, maximumWindow: Int = 8,
                batchRange: ClosedRange<Int>? = nil, pressureThreshold: Double = 0.5) {
        precondition(minimum > 0 && minimum <= maximum && targetLatencyMs > 0 && increaseStep > 0 && maximumWindow > 0)
        precondition(pressureThreshold > 0 && pressureThreshold <= 1)
        precondition((batchRange?.lowerBound ?? 1) > 0)
        self.minimum = minimum
        self.maximum = maximum
        self.targetLatencyMs = targetLatencyMs
        self.increaseStep = increaseStep
        self.maximumWindow = maximumWindow
        self.pressureThreshold = pressureThreshold
        self.initial = min(maximum, max(minimum, initial))
        self.readingsPerSecond = self.initial
        self.batchRange = batchRange
        self.batchReadings = batchRange?.lowerBound ?? .max
    }

    /// A new connection: what was learnt about the centre before the outage no longer holds.
    public mutating func reconnected() {
        readingsPerSecond = initial
        windowBatches = 1
        batchReadings = batchRange?.lowerBound ?? .max
        holdDecreaseUntilMs = Int64.min
        slowStart = true
    }

    /// One batch of `readings` fully acked `latencyMs` after it was first sent. `rateLimited`: the
    /// rate made the publisher wait since the previous ack (an idle or window-bound publisher does
    /// not raise a rate it is not using). `pressure`: the ack's, nil when the centre sends none.
    /// Returns the new rate.
    @discardableResult
    public mutating func acked(readings: Int, latencyMs: Int64, nowMs: Int64, rateLimited: Bool, pressure: Double? = nil) -> Double {
        if latencyMs > targetLatencyMs || (pressure ?? 0) >= pressureThreshold {
            slowStart = false
            if nowMs >= holdDecreaseUntilMs {
                readingsPerSecond = max(minimum, readingsPerSecond / 2)
                if windowBatches > 1 {
                    windowBatches /= 2
                } else if let batchRange {
                    batchReadings = max(batchRange.lowerBound, batchReadings / 2)
                }
                holdDecreaseUntilMs = nowMs + latencyMs
            }
            return readingsPerSecond
        }
        if let batchRange, batchReadings < batchRange.upperBound {
            batchReadings = min(batchRange.upperBound, batchReadings * 2)
        } else {
            windowBatches = min(maximumWindow, windowBatches + 1)
        }
        if rateLimited {
            let perRoundTrip = readingsPerSecond * Double(max(latencyMs, 1)) / 1_000
            let step = slowStart ? max(increaseStep, readingsPerSecond) : increaseStep
            readingsPerSecond = min(maximum, readingsPerSecond + step * min(1, Double(readings) / perRoundTrip))
        }
        return readingsPerSecond
    }

    /// One ack message that completes several batches (the centre acks a whole commit at once):
    /// each counts as an ack of its own, all with the same `rateLimited`, since the publisher
    /// waited for the rate before any of them. Returns the new rate.
    @discardableResult
    public mutating func acked(batches: [(readings: Int, latencyMs: Int64)], nowMs: Int64, rateLimited: Bool, pressure: Double? = nil) -> Double {
        for batch in batches {
            acked(readings: batch.readings, latencyMs: batch.latencyMs, nowMs: nowMs, rateLimited: rateLimited, pressure: pressure)
        }
        return readingsPerSecond
    }
}
