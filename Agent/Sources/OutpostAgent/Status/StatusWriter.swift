import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps the status file that `outpost-agent status` reads: every 2 s while the agent runs,
/// and once more with connection `stopped` when it ends. Placed before the ``Publisher`` in
/// the service group, it stops after it, so `stopped` is the last word.
public struct StatusWriter: Service {
    let stateDir: String
    let device: DeviceID
    let buffer: ReadingBuffer
    let publisher: Publisher
    let brokerSettings: @Sendable () -> BrokerSettings
    let sourceCounters: @Sendable () -> [String: SourceScheduler.Counters]
    let logger: Logger

    /// - Parameters:
    ///   - brokerSettings: the settings the publisher connects with; their certificate's expiry is reported.
    public init(stateDir: String, device: DeviceID, buffer: ReadingBuffer, publisher: Publisher,
                brokerSettings: @escaping @Sendable () -> BrokerSettings,
                sourceCounters: @escaping @Sendable () -> [String: SourceScheduler.Counters], logger: Logger) {
        self.stateDir = stateDir
        self.device = device
        self.buffer = buffer
        self.publisher = publisher
        self.brokerSettings = brokerSettings
        self.sourceCounters = sourceCounters
        var logger = logger
        logger[metadataKey: "device"] = "\(device)"
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                if Task.isCancelled { break }
                await write(connection: publisher.figures.connected ? "connected" : "disconnected")
            }
        }
        await write(connection: "stopped")
    }

    func write(connection: String) async {
        let stats = await buffer.stats()
        let figures = publisher.figures
        let now = WireClock.nowMs()
        let status = AgentStatus(
            pid: getpid(), device: device.rawValue, version: OutpostVersion.current, updatedAt: now, connection: connection,
            connectedSince: figures.connected ? figures.connectedSince : nil, buffer: stats.buffer.hex, bufferDepth: stats.depth,
            bufferBytes: stats.bytes, oldestUnackedAgeMs: stats.oldestTs.map { max(0, now - $0) }, dropped: stats.dropped,
            refusedSamples: await buffer.refused,
            lastSeq: stats.lastSeq, lastAckAt: figures.lastAckAt, ackedReadings: figures.ackedReadings,
            batchesSent: figures.batchesSent, batchesResent: figures.batchesResent, inflightBatches: figures.inflightBatches,
            certificateNotAfter: CertificateExpiry.notAfterMs(pemFile: brokerSettings().certFile), sources: sourceCounters())
        do {
            try status.write(stateDir: stateDir)
        } catch {
            logger.warning("status file not written", metadata: ["error": "\(error)"])
        }
    }
}
