import Logging
import OutpostCommon
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
    public static let filters: [String] = [
        Topic.shared(.telemetry), Topic.shared(.cmdResult), Topic.shared(.events), Topic.allDevices(.state),
    ]

    public let client: MQTTClient
    let readiness: SchemaReadiness
    let logger: Logger

    public init(client: MQTTClient, readiness: SchemaReadiness, logger: Logger) {
        self.client = client
        self.readiness = readiness
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
        for filter in Self.filters {
            try await client.subscribe(filter, qos: .atLeastOnce)
        }
        logger.info("subscribed", metadata: ["filters": "\(Self.filters)", "client_id": "\(client.configuration.clientID)"])
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
