import OutpostMQTT
import OutpostSupport
import OutpostWire

/// The agent's configuration file (`/etc/outpost/agent.json`), documented in `packaging/agent.sample.json`
/// and `docs/agent.md`.
public struct AgentConfiguration: Codable, Sendable, Equatable {
    public static let defaultPath = "/etc/outpost/agent.json"

    /// This device's id; must equal the certificate's CN. Required.
    public var deviceID: DeviceID
    /// Where the buffer and runtime state live. Defaults to `/var/lib/outpost`.
    public var stateDir: String
    public var mqtt: BrokerSettings
    public var logging: LoggingConfiguration
    /// Where the certificate is renewed; written by `outpost-agent enroll`. Defaults to none (no renewal).
    public var enrollment: EnrollmentSettings?
    /// What to measure. Defaults to none.
    public var sources: [SourceConfiguration]
    public var buffer: BufferSettings
    public var publisher: PublisherSettings
    /// Camera streams `start_stream` may name, e.g. `{"camera": {"kind": "command", "argv": [...]}}`.
    /// Only these can be started remotely, so a command cannot run an arbitrary program. Defaults to none.
    public var streams: [String: StreamSource]

    public init(deviceID: DeviceID, stateDir: String = "/var/lib/outpost", mqtt: BrokerSettings, logging: LoggingConfiguration = .init(),
                enrollment: EnrollmentSettings? = nil, sources: [SourceConfiguration] = [], buffer: BufferSettings = .init(),
                publisher: PublisherSettings = .init(), streams: [String: StreamSource] = [:]) {
        self.deviceID = deviceID
        self.stateDir = stateDir
        self.mqtt = mqtt
        self.logging = logging
        self.enrollment = enrollment
        self.sources = sources
        self.buffer = buffer
        self.publisher = publisher
        self.streams = streams
    }

    enum CodingKeys: String, CodingKey {
        case deviceID = "deviceId"
        case stateDir, mqtt, logging, enrollment, sources, buffer, publisher, streams
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deviceID = try container.decode(DeviceID.self, forKey: .deviceID)
        stateDir = try container.value(.stateDir, default: "/var/lib/outpost")
        mqtt = try container.decode(BrokerSettings.self, forKey: .mqtt)
        logging = try container.value(.logging, default: LoggingConfiguration())
        enrollment = try container.decodeIfPresent(EnrollmentSettings.self, forKey: .enrollment)
        sources = try container.value(.sources, default: [])
        var seen: Set<String> = []
        for (index, source) in sources.enumerated() where !seen.insert(source.name).inserted {
            throw ConfigError(.invalidValue, key: "sources[\(index)].name", "\(source.name) is used by another source")
        }
        buffer = try container.value(.buffer, default: BufferSettings())
        publisher = try container.value(.publisher, default: PublisherSettings())
        streams = try container.value(.streams, default: [:])
    }

    /// The buffer file inside the state directory.
    public var bufferPath: String { stateDir + "/buffer.db" }
}
