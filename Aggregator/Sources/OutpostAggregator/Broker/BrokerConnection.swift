import Logging
import OutpostMQTT
import OutpostWire
import ServiceLifecycle

/// The aggregator's MQTT client as a service.
///
/// Connects once the schema is ready (so nothing is taken from the broker before it can
/// be stored), subscribes to the device-to-centre topics, and disconnects cleanly at
/// graceful shutdown, after the ingest pipeline has published its last acks.
///
/// Telemetry, command results and events use the shared subscription, so several
/// aggregators split them. State uses a plain subscription: MQTT v5 sends no retained
/// messages to a shared subscription, and every aggregator should learn each device's
/// presence at start. State updates are idempotent, so receiving them all is safe.
public struct BrokerConnection: Service {
    /// The filters subscribed, with the shared ones in `shareGroup` (`ingest.share_group`).
    public static func filters(shareGroup: String) -> [String] {
        [Topic.shared(.telemetry, group: shareGroup), Topic.shared(.cmdResult, group: shareGroup),
         Topic.shared(.events, group: shareGroup), Topic.allDevices(.state)]
    }

    public let client: MQTTClient
    let readiness: SchemaReadiness
    let shareGroup: String
    let logger: Logger

    public init(client: MQTTClient, readiness: SchemaReadiness, shareGroup: String = Topic.sharedGroup, logger: Logger) {
        self.client = client
        self.readiness = readiness
        self.shareGroup = shareGroup
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await readiness.wait()
        } catch {
            await client.shutdown()
            return
        }
        client.start()
        for filter in Self.filters(shareGroup: shareGroup) {
            try await client.subscribe(filter, qos: .atLeastOnce)
        }
        logger.info("subscribed", metadata: ["filters": "\(Self.filters(shareGroup: shareGroup))", "client_id": "\(client.configuration.clientID)"])
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
