/// One value a source measured, before the buffer gives it a seq.
public struct Sample: Sendable, Equatable {
    /// UTC ms since the epoch.
    public var ts: Int64
    public var metric: String
    public var value: Double

    public init(ts: Int64, metric: String, value: Double) {
        self.ts = ts
        self.metric = metric
        self.value = value
    }
}
