import OutpostSupport

/// The `buffer` section of the agent configuration.
public struct BufferSettings: Codable, Sendable, Equatable {
    /// Most readings kept on disk; the oldest are dropped beyond. Defaults to 1,000,000.
    public var maxRows: Int
    /// Most estimated bytes kept (metric name + 40 bytes per reading). Defaults to 128 MiB.
    public var maxBytes: Int
    /// Longest a captured reading waits in memory before its commit. Defaults to 200 ms.
    public var commitIntervalMs: Int
    /// A commit starts early when this many readings wait. Defaults to 1,000.
    public var commitRows: Int
    /// `full` survives a power cut; `normal` survives a process crash and is faster. Defaults to `full`.
    public var synchronous: String
    /// Days a damaged buffer file moved aside (`buffer.db.corrupt-<unix time>`) is kept for
    /// inspection before the agent removes it at start-up. 0 keeps them. Defaults to 30.
    public var corruptRetentionDays: Int

    public init(maxRows: Int = 1_000_000, maxBytes: Int = 128 << 20, commitIntervalMs: Int = 200, commitRows: Int = 1_000,
                synchronous: String = "full", corruptRetentionDays: Int = 30) {
        self.maxRows = maxRows
        self.maxBytes = maxBytes
        self.commitIntervalMs = commitIntervalMs
        self.commitRows = commitRows
        self.synchronous = synchronous
        self.corruptRetentionDays = corruptRetentionDays
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        maxRows = try container.value(.maxRows, default: 1_000_000, where: { $0 >= 10 }, "must be at least 10")
        maxBytes = try container.value(.maxBytes, default: 128 << 20, where: { $0 >= 4096 }, "must be at least 4096")
        commitIntervalMs = try container.value(.commitIntervalMs, default: 200, where: { (1...10_000).contains($0) }, "must be 1-10000 ms")
        commitRows = try container.value(.commitRows, default: 1_000, where: { (1...100_000).contains($0) }, "must be 1-100000")
        synchronous = try container.value(.synchronous, default: "full", where: { ["full", "normal"].contains($0) }, "must be full or normal")
        corruptRetentionDays = try container.value(.corruptRetentionDays, default: 30, where: { (0...3_650).contains($0) }, "must be 0-3650 days")
    }
}
