import Logging
import OutpostMQTT
import OutpostWire
import Synchronization

/// This aggregator's MQTT clients, one per configured broker, each with its own reconnect,
/// and where to publish to a device.
///
/// A device's acks and commands go to the broker the device was last heard on (live
/// telemetry, events or command results), because that is where it is connected, even while
/// it still sits on its old broker after a move. A device not heard since this process
/// started gets the broker ``BrokerAssignment`` gives it. Retained messages and state never
/// count (``MessageRouter/showsConnection(_:retained:)``): a retained `online` left on a
/// broker the device has left must not draw its acks and commands back there.
public final class BrokerSet: Sendable {
    public struct Member: Sendable {
        public let name: String
        public let client: MQTTClient
    }

    public let members: [Member]
    public let assignment: BrokerAssignment
    private let heardOn = Mutex<[DeviceID: Int]>([:])

    public init(members: [Member], assignment: BrokerAssignment) {
        precondition(!members.isEmpty, "a broker set needs at least one broker")
        self.members = members
        self.assignment = assignment
    }

    /// One broker named `default`.
    public convenience init(client: MQTTClient) {
        self.init(members: [Member(name: AggregatorConfiguration.defaultBrokerName, client: client)],
                  assignment: BrokerAssignment(brokers: [AggregatorConfiguration.defaultBrokerName]))
    }

    /// Builds one client per broker of `configuration`, with `tune` applied to each client's settings.
    public convenience init(configuration: AggregatorConfiguration, logger: Logger, tune: (inout MQTTConfiguration) -> Void) throws {
        let members = try configuration.resolvedBrokers.map { broker in
            var mqtt = broker.settings.clientConfiguration(clientID: configuration.mqttClientID,
                                                           sessionExpiry: UInt32(configuration.ingest.sessionExpirySeconds))
            tune(&mqtt)
            var brokerLogger = logger
            brokerLogger[metadataKey: "broker"] = "\(broker.name)"
            return Member(name: broker.name, client: try MQTTClient(configuration: mqtt, logger: brokerLogger))
        }
        self.init(members: members, assignment: configuration.brokerAssignment)
    }

    /// Records that `device` was heard on the broker at `index`.
    public func heard(_ device: DeviceID, on index: Int) {
        heardOn.withLock { $0[device] = index }
    }

    /// The index of the broker to publish to `device` on.
    public func index(for device: DeviceID) -> Int {
        if let index = heardOn.withLock({ $0[device] }) { return index }
        let name = assignment.broker(for: device.rawValue)
        return members.firstIndex { $0.name == name } ?? 0
    }

    /// The client to publish to `device` with.
    public func client(for device: DeviceID) -> MQTTClient { members[index(for: device)].client }

    /// The names of the brokers this process is not connected to now.
    public var disconnected: [String] { members.filter { !$0.client.isConnected }.map(\.name) }
}
