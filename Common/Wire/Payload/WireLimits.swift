/// Bounds every decoder enforces. A payload outside them is refused before or while
/// it is parsed, so a hostile or broken peer cannot make either side allocate without bound.
public struct WireLimits: Sendable, Equatable {
    /// Largest accepted payload, in bytes. Defaults to 256 KiB.
    public var maxPayloadBytes: Int
    /// Most readings in one telemetry batch. Defaults to 2,000.
    public var maxReadingsPerBatch: Int
    /// Most seq ranges in one ack. Defaults to 1,000.
    public var maxAckRanges: Int
    /// Longest metric name. Defaults to 64 bytes.
    public var maxMetricLength: Int
    /// Longest free-text field (command name, id, error message). Defaults to 4 KiB.
    public var maxTextLength: Int
    /// Deepest nesting of free-form JSON (command args, event data). Defaults to 16.
    public var maxNestingDepth: Int
    /// Earliest accepted timestamp: 2020-01-01T00:00:00Z, in ms.
    public var minTimestampMs: Int64
    /// How far in the future a timestamp may be, to allow for clock skew. Defaults to 1 day.
    public var maxFutureSkewMs: Int64

    public init(
        maxPayloadBytes: Int = 256 * 1024,
        maxReadingsPerBatch: Int = 2_000,
        maxAckRanges: Int = 1_000,
        maxMetricLength: Int = 64,
        maxTextLength: Int = 4_096,
        maxNestingDepth: Int = 16,
        minTimestampMs: Int64 = 1_577_836_800_000,
        maxFutureSkewMs: Int64 = 86_400_000
    ) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxReadingsPerBatch = maxReadingsPerBatch
        self.maxAckRanges = maxAckRanges
        self.maxMetricLength = maxMetricLength
        self.maxTextLength = maxTextLength
        self.maxNestingDepth = maxNestingDepth
        self.minTimestampMs = minTimestampMs
        self.maxFutureSkewMs = maxFutureSkewMs
    }

    public static let standard = WireLimits()
}
