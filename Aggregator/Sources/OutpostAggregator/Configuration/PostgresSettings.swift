import OutpostSupport
import NIOSSL
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
    /// TLS for the connections. Defaults to `disable`; use `verify-full` once the database is on another host.
    public var tls: PostgresTLSSettings
    /// A streaming replica for read-only readings queries, with a staleness bound; none by default.
    public var readReplica: ReadReplicaSettings?

    public init(host: String = "127.0.0.1", port: Int = 5432, username: String = "outpost", password: String? = nil,
                database: String = "outpost", maxConnections: Int = 10, tls: PostgresTLSSettings = PostgresTLSSettings(),
                readReplica: ReadReplicaSettings? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password.map(Redacted.init)
        self.database = database
        self.maxConnections = maxConnections
        self.tls = tls
        self.readReplica = readReplica
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.value(.host, default: "127.0.0.1")
        port = try container.value(.port, default: 5432, where: { (1...65535).contains($0) }, "must be a port number (1-65535)")
        username = try container.value(.username, default: "outpost")
        password = try container.decodeIfPresent(Redacted<String>.self, forKey: .password)
        database = try container.value(.database, default: "outpost")
        maxConnections = try container.value(.maxConnections, default: 10, where: { (1...500).contains($0) }, "must be 1-500")
        tls = try container.value(.tls, default: PostgresTLSSettings())
        readReplica = try container.decodeIfPresent(ReadReplicaSettings.self, forKey: .readReplica)
    }

    /// postgres-nio's pool configuration for these settings.
    ///
    /// No minimum of open connections: postgres-nio 1.33.2's pool stops the process on a
    /// precondition (`PoolStateMachine+ConnectionGroup.swift:163`) with a minimum above zero
    /// when connections fail during a failover (seen in `PatroniFailoverTests`). Its other
    /// gap, a lease request left waiting when the last connection fails (postgres-nio #657),
    /// is closed by ``WriteDeadline``: the request is withdrawn and a new one opens a connection.
    ///
    /// - Throws: ``StoreError`` when a TLS file cannot be used (``StoreError/Code/tlsFileUnreadable``,
    ///   ``StoreError/Code/tlsKeyPermissions``).
    public func clientConfiguration() throws(StoreError) -> PostgresClient.Configuration {
        let tlsConfiguration = try tls.tlsConfiguration()
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password?.value, database: database,
            tls: tlsConfiguration.map { .require($0) } ?? .disable)
        configuration.options.tlsServerName = tls.serverName
        configuration.options.maximumConnections = maxConnections
        return configuration
    }

    /// The ingest writers' pool: `connections` sessions whose startup parameters bound what an
    /// abandoned write can hold (``Database/ingest``).
    ///
    /// - `lock_timeout`: a wait for a row lock (a reading mark held by a session whose commit
    ///   waits for the synchronous standby, or by one abandoned at its deadline) ends with
    ///   SQLSTATE 55P03 before the deadline; the batch is retried (``WriteFailure/transient``).
    ///   It only ends lock waits, never a commit's wait for the standby (`statement_timeout` would).
    /// - `client_connection_check_interval`: the server polls the client's socket while a
    ///   statement runs, so a backend whose connection ``WriteDeadline`` closed ends within it
    ///   instead of waiting on (and holding its locks) until its own wait ends.
    ///
    /// Startup parameters rather than `SET LOCAL` in the write's transaction: the connection
    /// check is armed when a statement starts, so setting it inside the call would not cover
    /// that call, and a transaction block would cost three more round trips per batch.
    func ingestClientConfiguration(lockTimeoutMs: Int, connections: Int) throws(StoreError) -> PostgresClient.Configuration {
        var configuration = try clientConfiguration()
        configuration.options.maximumConnections = connections
        configuration.options.additionalStartupParameters = [
            ("application_name", Self.ingestApplicationName),
            ("lock_timeout", "\(lockTimeoutMs)ms"),
            ("client_connection_check_interval", "\(Self.clientCheckIntervalMs)ms"),
        ]
        return configuration
    }

    /// `application_name` of the ingest sessions, to find them in `pg_stat_activity`.
    static let ingestApplicationName = "outpost-ingest"
    /// How often the server checks that an ingest session's client is still there.
    static let clientCheckIntervalMs = 1_000

    /// A single connection's configuration for these settings, for ``Database/probe()``.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsConfiguration = try tls.tlsConfiguration()
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password?.value, database: database,
            tls: try tlsConfiguration.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
        configuration.options.tlsServerName = tls.serverName
        return configuration
    }
}
