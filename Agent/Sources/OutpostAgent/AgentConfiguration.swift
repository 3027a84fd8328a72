import OutpostCommon

/// The agent's configuration file (`/etc/outpost/agent.json`), documented in `packaging/agent.sample.json`.
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

    public init(deviceID: DeviceID, stateDir: String = "/var/lib/outpost", mqtt: BrokerSettings, logging: LoggingConfiguration = .init(),
                enrollment: EnrollmentSettings? = nil) {
        self.deviceID = deviceID
        self.stateDir = stateDir
        self.mqtt = mqtt
        self.logging = logging
        self.enrollment = enrollment
    }

    enum CodingKeys: String, CodingKey {
        case deviceID = "deviceId"
        case stateDir, mqtt, logging
        case enrollment
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deviceID = try container.decode(DeviceID.self, forKey: .deviceID)
        stateDir = try container.value(.stateDir, default: "/var/lib/outpost")
        mqtt = try container.decode(BrokerSettings.self, forKey: .mqtt)
        logging = try container.value(.logging, default: LoggingConfiguration())
        enrollment = try container.decodeIfPresent(EnrollmentSettings.self, forKey: .enrollment)
    }
}
