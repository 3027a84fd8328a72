import OutpostSupport

/// The `commands` section: dispatch and expiry of device commands.
public struct CommandSettings: Codable, Sendable, Equatable {
    /// Time to live of a command sent without `--ttl`. Defaults to 300 s.
    public var defaultTtlSeconds: Int
    /// How often queued commands are looked for when no notification arrives, and how
    /// often expiry is checked. Defaults to 1,000 ms.
    public var pollIntervalMs: Int
    /// How long after its expiry a sent command may still report a result (the agent
    /// may have started it just before). Defaults to 10 s.
    public var resultGraceSeconds: Int

    public init(defaultTtlSeconds: Int = 300, pollIntervalMs: Int = 1_000, resultGraceSeconds: Int = 10) {
        self.defaultTtlSeconds = defaultTtlSeconds
        self.pollIntervalMs = pollIntervalMs
        self.resultGraceSeconds = resultGraceSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        defaultTtlSeconds = try container.value(.defaultTtlSeconds, default: 300, where: { (1...2_592_000).contains($0) },
                                                "must be 1-2592000 seconds")
        pollIntervalMs = try container.value(.pollIntervalMs, default: 1_000, where: { (10...60_000).contains($0) },
                                             "must be 10-60000 ms")
        resultGraceSeconds = try container.value(.resultGraceSeconds, default: 10, where: { (0...3_600).contains($0) },
                                                 "must be 0-3600 seconds")
    }
}
