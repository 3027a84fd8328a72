import Logging
import OutpostWire
import PostgresNIO

/// Which broker a device belongs on, with the operator's overrides from PostgreSQL
/// (`devices.broker_override`), and the address devices are given for each broker.
///
/// The config endpoint answers enroll and renew with ``address(for:)``, so a device learns a
/// new broker at its next enrollment or renewal; see docs/scale.md, "Moving a device".
public struct BrokerDirectory: Sendable {
    /// A device's broker as the API shows it.
    public struct Placement: Sendable, Equatable, Codable {
        public var device: String
        /// Where the device belongs now: the override when it names a configured broker, else `hashed`.
        public var broker: String
        /// The rendezvous hash's choice.
        public var hashed: String
        /// The operator's override, when set (even one naming a broker no longer configured).
        public var override: String?

        /// Writes `override` as null when there is none, as the OpenAPI document says.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(device, forKey: .device)
            try container.encode(broker, forKey: .broker)
            try container.encode(hashed, forKey: .hashed)
            try container.encode(override, forKey: .override)
        }
    }

    public let assignment: BrokerAssignment
    public let addresses: [String: CertificateResponse.Broker]
    /// Where the overrides are stored.
    let devices: DevicesStore

    public init(assignment: BrokerAssignment, addresses: [String: CertificateResponse.Broker], client: PostgresPool, logger: Logger) {
        self.assignment = assignment
        self.addresses = addresses
        self.devices = DevicesStore(client: client, logger: logger)
    }

    public init(configuration: AggregatorConfiguration, client: PostgresPool, logger: Logger) {
        let brokers = configuration.resolvedBrokers
        self.init(assignment: BrokerAssignment(brokers: brokers.map(\.name)),
                  addresses: Dictionary(uniqueKeysWithValues: brokers.map { ($0.name, $0.deviceAddress) }), client: client, logger: logger)
    }

    /// The placement of `device`; nil when no such device row exists.
    public func placement(of device: String) async throws -> Placement? {
        try await devices.brokerOverride(of: device).map { placement(device, override: $0) }
    }

    func placement(_ device: String, override: String?) -> Placement {
        var assignment = assignment
        if let override { assignment.overrides[device] = override }
        return Placement(device: device, broker: assignment.broker(for: device), hashed: assignment.hashed(device), override: override)
    }

    /// The address `device` is told to connect to.
    public func address(for device: String) async throws -> CertificateResponse.Broker {
        let name = try await placement(of: device)?.broker ?? assignment.hashed(device)
        guard let address = addresses[name] else { preconditionFailure("broker \(name) has no address") }
        return address
    }

    /// Sets (or with nil clears) the override of `device`; nil when no such device row exists.
    public func setOverride(_ broker: String?, for device: String) async throws -> Placement? {
        try await devices.setBrokerOverride(broker, for: device).map { placement(device, override: $0) }
    }
}
