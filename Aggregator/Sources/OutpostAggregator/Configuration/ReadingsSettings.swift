import OutpostSupport

/// The `readings` section: partitions and retention of the readings table, and the retention
/// of the audit log and finished commands, which the same maintenance applies.
public struct ReadingsSettings: Codable, Sendable, Equatable {
    /// Days of readings kept; older daily partitions are dropped. 0 keeps everything. Defaults to 90.
    public var retentionDays: Int
    /// Daily partitions created ahead of today. Defaults to 3.
    public var partitionsAheadDays: Int
    /// Daily partitions created behind today, for devices sending a backlog. Defaults to 7.
    public var partitionsBehindDays: Int
    /// How often partitions are created and retention applied. Defaults to 3,600 s.
    public var maintenanceIntervalSeconds: Int
    /// Days of `audit_log` rows kept. 0 keeps everything. Defaults to 400.
    public var auditRetentionDays: Int
    /// Days finished commands (`succeeded`, `failed`, `expired`) are kept after they were created.
    /// 0 keeps everything. Defaults to 90.
    public var commandRetentionDays: Int

    public init(retentionDays: Int = 90, partitionsAheadDays: Int = 3, partitionsBehindDays: Int = 7,
                maintenanceIntervalSeconds: Int = 3_600, auditRetentionDays: Int = 400, commandRetentionDays: Int = 90) {
        self.retentionDays = retentionDays
        self.partitionsAheadDays = partitionsAheadDays
        self.partitionsBehindDays = partitionsBehindDays
        self.maintenanceIntervalSeconds = maintenanceIntervalSeconds
        self.auditRetentionDays = auditRetentionDays
        self.commandRetentionDays = commandRetentionDays
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        retentionDays = try container.value(.retentionDays, default: 90, where: { (0...36_500).contains($0) }, "must be 0-36500 days")
        partitionsAheadDays = try container.value(.partitionsAheadDays, default: 3, where: { (2...366).contains($0) },
                                                  "must be 2-366 days (timestamps may run a day ahead)")
        partitionsBehindDays = try container.value(.partitionsBehindDays, default: 7, where: { (0...366).contains($0) },
                                                   "must be 0-366 days")
        maintenanceIntervalSeconds = try container.value(.maintenanceIntervalSeconds, default: 3_600,
                                                         where: { (1...86_400).contains($0) }, "must be 1-86400 seconds")
        auditRetentionDays = try container.value(.auditRetentionDays, default: 400, where: { (0...36_500).contains($0) }, "must be 0-36500 days")
        commandRetentionDays = try container.value(.commandRetentionDays, default: 90, where: { (0...36_500).contains($0) },
                                                   "must be 0-36500 days")
    }
}
