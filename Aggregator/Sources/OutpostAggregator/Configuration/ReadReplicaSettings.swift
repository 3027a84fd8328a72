import OutpostSupport

/// `postgres.read_replica`: a streaming replica (HAProxy's `/replica` port in front of a
/// Patroni cluster) for the admin API's read-only readings queries. The role, password,
/// database and TLS are the primary's (`postgres.*`).
public struct ReadReplicaSettings: Codable, Sendable, Equatable {
    /// Defaults to `127.0.0.1`.
    public var host: String
    public var port: Int
    /// Oldest data a read may see, in ms: a read goes to the replica only while everything
    /// the primary had committed this long ago is known to be replayed there. Defaults to 5,000.
    public var maxStalenessMs: Int
    /// Most pooled connections to the replica. Defaults to 10.
    public var maxConnections: Int

    public init(host: String = "127.0.0.1", port: Int, maxStalenessMs: Int = 5_000, maxConnections: Int = 10) {
        self.host = host
        self.port = port
        self.maxStalenessMs = maxStalenessMs
        self.maxConnections = maxConnections
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.value(.host, default: "127.0.0.1")
        port = try container.value(.port, default: 0, where: { (1...65535).contains($0) }, "must be a port number (1-65535)")
        maxStalenessMs = try container.value(.maxStalenessMs, default: 5_000, where: { (100...3_600_000).contains($0) },
                                             "must be 100-3600000 ms")
        maxConnections = try container.value(.maxConnections, default: 10, where: { (1...500).contains($0) }, "must be 1-500")
    }

    /// The primary's settings pointed at the replica.
    func connection(from primary: PostgresSettings) -> PostgresSettings {
        var settings = primary
        settings.host = host
        settings.port = port
        settings.maxConnections = maxConnections
        return settings
    }
}
