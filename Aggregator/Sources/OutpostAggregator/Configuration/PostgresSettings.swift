import OutpostCommon
import PostgresNIO

/// The `postgres` section: where the database is and how many connections to pool.
public struct PostgresSettings: Codable, Sendable, Equatable {
    /// Defaults to `127.0.0.1`.
    public var host: String
    /// Defaults to 5432.
    public var port: Int
    /// Defaults to `outpost`.
    public var username: String
    /// Defaults to none (trust or peer authentication). Never logged.
    public var password: Redacted<String>?
    /// Defaults to `outpost`.
    public var database: String
    /// Most pooled connections. Defaults to 10.
    public var maxConnections: Int

    public init(host: String = "127.0.0.1", port: Int = 5432, username: String = "outpost", password: String? = nil,
                database: String = "outpost", maxConnections: Int = 10) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password.map(Redacted.init)
        self.database = database
        self.maxConnections = maxConnections
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.value(.host, default: "127.0.0.1")
        port = try container.value(.port, default: 5432, where: { (1...65535).contains($0) }, "must be a port number (1-65535)")
        username = try container.value(.username, default: "outpost")
        password = try container.decodeIfPresent(Redacted<String>.self, forKey: .password)
        database = try container.value(.database, default: "outpost")
        maxConnections = try container.value(.maxConnections, default: 10, where: { (1...500).contains($0) }, "must be 1-500")
    }

    /// postgres-nio's client configuration for these settings.
    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password?.value, database: database, tls: .disable)
        configuration.options.maximumConnections = maxConnections
        return configuration
    }
}
