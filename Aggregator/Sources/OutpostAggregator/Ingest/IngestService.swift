import Logging
import OutpostCommon
import ServiceLifecycle

/// The broker consumer and the ingest pipeline as one service.
///
/// Graceful shutdown: stop taking messages from the broker, write and acknowledge
/// everything already decoded, then return, so the broker connection (shut down
/// after this service) still carries the last acks. Messages the client had buffered
/// but not handed over are re-sent by their devices, which wait for acks.
public struct IngestService: Service {
    let client: MQTTClient
    let router: MessageRouter
    let pipeline: IngestPipeline
    let readiness: SchemaReadiness
    let logger: Logger

    public init(client: MQTTClient, router: MessageRouter, pipeline: IngestPipeline, readiness: SchemaReadiness, logger: Logger) {
        self.client = client
        self.router = router
        self.pipeline = pipeline
        self.readiness = readiness
        self.logger = logger
    }

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pipeline.run() }
            await cancelWhenGracefulShutdown {
                await router.run(client.events)
            }
            logger.info("draining ingest")
            pipeline.finish()
            await group.waitForAll()
        }
        logger.info("ingest stopped")
    }
}
