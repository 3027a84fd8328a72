import Foundation
import Logging
@testable import OutpostAggregator
import OutpostMQTT
import OutpostWire
import PostgresNIO
import Testing

/// Where acks and commands go with two brokers: which routed messages move a device's broker.
/// No network: the clients are never started, and nothing here reaches the database.
@Suite("Message router: the broker a device was heard on")
struct MessageRouterTests {
    static func client(_ name: String) throws -> MQTTClient {
        try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: 1, clientID: "test.router.\(name)", tls: nil),
                       logger: Logger(label: "test.router"))
    }

    @Test("retained messages and state never count; live events and command results do")
    func heardOnlyFromLiveMessages() async throws {
        let brokers = BrokerSet(members: [.init(name: "a", client: try Self.client("a")), .init(name: "b", client: try Self.client("b"))],
                                assignment: BrokerAssignment(brokers: ["a", "b"]))
        let metrics = AggregatorMetrics()
        let logger = Logger(label: "test.router")
        let postgres = PostgresPool(configuration: .init(host: "127.0.0.1", port: 1, username: "none", password: nil, database: nil, tls: .disable),
                                      backgroundLogger: logger)
        let pipeline = IngestPipeline(settings: IngestSettings(), store: ReadingsStore(primary: postgres, logger: logger),
                                      acks: MQTTAckPublisher(brokers: brokers), metrics: metrics, logger: logger)
        let commands = BoundedQueue<CommandInbox>(limit: 100)
        let router = MessageRouter(codec: WireCodec(), pipeline: pipeline, presence: PresenceRecorder(maxPendingDevices: 100),
                                   commands: commands, metrics: metrics, brokers: brokers, logger: logger)
        let device = try #require((0..<100).compactMap { DeviceID("meter-\($0)") }.first { brokers.assignment.broker(for: $0.rawValue) == "a" })
        let codec = WireCodec()
        let now = WireClock.nowMs()
        func message(_ kind: Topic.Kind, _ payload: [UInt8], retained: Bool) -> MQTTMessage {
            MQTTMessage(topic: Topic(device, kind).name, payload: payload, qos: .atLeastOnce, retain: retained)
        }
        let online = try codec.encode(DeviceState(device: device, status: .online, ts: now))
        let event = try codec.encode(DeviceEvent(device: device, ts: now, kind: "warning", data: ["message": "x"]))
        let result = try codec.encode(CommandResult.success(id: "cmd-1"))
        #expect(brokers.index(for: device) == 0, "before it is heard: its assigned broker, a")

        // A stale retained `online` on b (the device left b) must not draw its acks and commands there.
        await router.route(message(.state, online, retained: true), broker: 1)
        #expect(brokers.index(for: device) == 0)
        // Nor a live state: the will and `online` are the broker's retained state, not a connection.
        await router.route(message(.state, online, retained: false), broker: 1)
        #expect(brokers.index(for: device) == 0)
        await router.route(message(.events, event, retained: true), broker: 1)
        #expect(brokers.index(for: device) == 0)
        // A live event on b: the device is connected there.
        await router.route(message(.events, event, retained: false), broker: 1)
        #expect(brokers.index(for: device) == 1)
        await router.route(message(.cmdResult, result, retained: true), broker: 0)
        #expect(brokers.index(for: device) == 1)
        await router.route(message(.cmdResult, result, retained: false), broker: 0)
        #expect(brokers.index(for: device) == 0)
        #expect(commands.tryPop() != nil, "the results were handed on to the command service")

        for kind in [Topic.Kind.telemetry, .events, .cmdResult] {
            #expect(MessageRouter.showsConnection(kind, retained: false))
            #expect(!MessageRouter.showsConnection(kind, retained: true))
        }
        for kind in [Topic.Kind.state, .ack, .cmd] { #expect(!MessageRouter.showsConnection(kind, retained: false)) }
    }
}
