import Logging
import ServiceLifecycle

/// The broker consumer and the ingest pipeline as one service.
///
/// Graceful shutdown: stop taking messages from the broker, write and acknowledge
/// everything already decoded, then return, so the broker connection (shut down
/// after this service) still carries the last acks. Messages the client had buffered
/// but not handed over are re-sent by their devices, which wait for acks.
///
/// With several brokers, one loop per broker feeds the same router and pipeline, so a
/// broker that is down or slow holds only its own loop.
public struct IngestService: Service {
    let brokers: BrokerSet
    let router: MessageRouter
    let pipeline: IngestPipeline
    let readiness: SchemaReadiness
    let logger: Logger

    public init(brokers: BrokerSet, router: MessageRouter, pipeline: IngestPipeline, readiness: SchemaReadiness, logger: Logger) {
        self.brokers = brokers
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
                await withTaskGroup(of: Void.self) { loops in
                    for (index, member) in brokers.members.enumerated() {
                        loops.addTask { await router.run(member.client.events, broker: index) }
                    }
                }
            }
            logger.info("draining ingest")
            pipeline.finish()
            await group.waitForAll()
        }
        logger.info("ingest stopped")
    }
}
