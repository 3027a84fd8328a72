/// One measurement taken by a device, as it travels inside a ``TelemetryBatch``.
///
/// The device and buffer are carried once per batch, not per reading.
public struct Reading: Hashable, Sendable, Codable {
    /// Assigned by the agent's buffer at capture; never reused within one buffer.
    public var seq: Int64
    /// UTC milliseconds since the Unix epoch.
    public var ts: Int64
    /// A name such as `power_w`, `voltage_v`, `energy_wh`, `temp_c`.
    public var metric: String
    public var value: Double

    public init(seq: Int64, ts: Int64, metric: String, value: Double) {
        self.seq = seq
        self.ts = ts
        self.metric = metric
        self.value = value
    }

    /// Metric names: `[a-z][a-z0-9_.]*`, at most `limits.maxMetricLength` bytes.
    public static func isValidMetric(_ name: String, limits: WireLimits = .standard) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= limits.maxMetricLength,
              first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z")
        else { return false }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard seq >= 1 else { throw WireError(.invalidSeq, "seq \(seq) must be >= 1") }
        guard ts >= limits.minTimestampMs, ts <= nowMs + limits.maxFutureSkewMs else {
            throw WireError(.timestampOutOfRange, "ts \(ts) of seq \(seq) is outside the accepted range")
        }
        guard Reading.isValidMetric(metric, limits: limits) else {
            throw WireError(.invalidMetric, "metric \(metric.prefix(80).debugDescription) of seq \(seq) is not a valid name")
        }
        guard value.isFinite else { throw WireError(.nonFiniteValue, "value of seq \(seq) is not finite") }
    }
}
