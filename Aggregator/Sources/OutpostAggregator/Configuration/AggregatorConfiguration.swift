import OutpostMQTT
import OutpostSupport
import OutpostWire

/// The aggregator's configuration file (`/etc/outpost/aggregator.json`), documented in
/// `packaging/aggregator.sample.json`.
public struct AggregatorConfiguration: Codable, Sendable, Equatable {
    public static let defaultPath = "/etc/outpost/aggregator.json"

    /// This process's name among the fleet's aggregators: part of its certificate CN
    /// (`svc.aggregator.{instance_id}`) and MQTT client id. Required; unique per process.
    public var instanceID: String
    /// Where the CA, CRL and generated broker files live. Defaults to `/var/lib/outpost-aggregator`.
    public var stateDir: String
    /// Directory of versioned `NNNN_name.sql` migrations. Defaults to `/usr/share/outpost-aggregator/migrations`.
    public var migrationsDir: String
    public var mqtt: BrokerSettings
    /// Independent brokers devices are spread over (``BrokerEndpoint``); empty (the default):
    /// the one broker of `mqtt`.
    public var brokers: [BrokerEndpoint]
    public var postgres: PostgresSettings
    public var http: HTTPSettings
    public var logging: LoggingConfiguration
    /// The CA, enrollment and revocation. Defaults to ``IdentitySettings/init()``.
    public var identity: IdentitySettings
    /// The admin API's limits and lifetimes. Every field has a default.
    public var api: APISettings
    public var ingest: IngestSettings
    public var devices: DeviceSettings
    public var readings: ReadingsSettings
    public var commands: CommandSettings
    /// Live view through Janus; off unless `live.janus_url` is set.
    public var live: LiveSettings
    /// Recording at the centre and its retention (docs/recordings.md).
    public var recordings: RecordingSettings

    public init(
        instanceID: String, stateDir: String = "/var/lib/outpost-aggregator",
        migrationsDir: String = "/usr/share/outpost-aggregator/migrations", mqtt: BrokerSettings, postgres: PostgresSettings,
        http: HTTPSettings, logging: LoggingConfiguration = .init(), identity: IdentitySettings = .init(), api: APISettings = .init(),
        ingest: IngestSettings = .init(), devices: DeviceSettings = .init(), readings: ReadingsSettings = .init(),
        commands: CommandSettings = .init(), live: LiveSettings = .init(), recordings: RecordingSettings = .init(),
        brokers: [BrokerEndpoint] = []
    ) {
        self.instanceID = instanceID
        self.stateDir = stateDir
        self.migrationsDir = migrationsDir
        self.mqtt = mqtt
        self.brokers = brokers
        self.postgres = postgres
        self.http = http
        self.logging = logging
        self.identity = identity
        self.api = api
        self.ingest = ingest
        self.devices = devices
        self.readings = readings
        self.commands = commands
        self.live = live
        self.recordings = recordings
    }

    enum CodingKeys: String, CodingKey {
        case instanceID = "instanceId"
        case stateDir, migrationsDir, mqtt, postgres, http, logging, identity, api
        case ingest, devices, readings, commands, live, recordings, brokers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        instanceID = try container.value(.instanceID, default: "", where: { DeviceID($0) != nil },
                                         "must match [a-z0-9][a-z0-9-]{0,62}")
        stateDir = try container.value(.stateDir, default: "/var/lib/outpost-aggregator")
        migrationsDir = try container.value(.migrationsDir, default: "/usr/share/outpost-aggregator/migrations")
        mqtt = try container.decode(BrokerSettings.self, forKey: .mqtt)
        brokers = try container.value(.brokers, default: [], where: { Set($0.map(\.name)).count == $0.count },
                                      "broker names must be unique")
        postgres = try container.value(.postgres, default: PostgresSettings())
        http = try container.decode(HTTPSettings.self, forKey: .http)
        logging = try container.value(.logging, default: LoggingConfiguration())
        identity = try container.value(.identity, default: IdentitySettings())
        api = try container.value(.api, default: APISettings())
        ingest = try container.value(.ingest, default: IngestSettings())
        devices = try container.value(.devices, default: DeviceSettings())
        readings = try container.value(.readings, default: ReadingsSettings())
        commands = try container.value(.commands, default: CommandSettings())
        live = try container.value(.live, default: LiveSettings())
        recordings = try container.value(.recordings, default: RecordingSettings())
        try Self.checkDistinct(resolvedBrokers)
    }

    /// The service identity this process uses on the broker: `svc.aggregator.{instance_id}`.
    public var serviceIdentity: String { "svc.aggregator.\(instanceID)" }

    /// The MQTT client id: the service identity, stable across restarts of this instance
    /// so that a restarted process resumes its persistent session (and the QoS 1
    /// messages the broker queued for it) instead of stranding them. Unique per process
    /// because `instance_id` is.
    public var mqttClientID: String { serviceIdentity }
}
