#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostSupport
import OutpostWire
import OutpostAgent
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One simulated meter, built from the real agent's parts: its configuration loaded from its
/// own `agent.json` (state directory forced to the device's directory), its own
/// ``ReadingBuffer`` with a ``BufferCommitter``, its own ``Publisher`` (so its own MQTT
/// connection over TLS with its own certificate, under the broker's ACL) and a
/// ``SourceScheduler`` running one ``SimulatedMeter``.
///
/// Unlike ``Agent`` it has no service group of its own: ``FleetSimulator`` runs every
/// device's parts in one group, so there is one set of signal handlers per process.
/// It leaves out what a simulated meter does not need: streaming, certificate renewal,
/// the systemd watchdog, `restart_agent` and the status file.
public final class SimulatedDevice: Sendable {
    public let device: DeviceID
    public let directory: String
    public let configuration: AgentConfiguration
    public let buffer: ReadingBuffer
    public let scheduler: SourceScheduler
    public let publisher: Publisher
    public let commandService: CommandService
    let committer: BufferCommitter

    /// - Parameters:
    ///   - directory: the device's directory, holding `agent.json` and its certificate files.
    ///   - seed: seeds the meter's values.
    public init(directory: String, rate: Double, seed: UInt64, logger: Logger) throws(SimulationError) {
        self.directory = directory
        var configuration: AgentConfiguration
        do {
            configuration = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: directory + "/agent.json")
        } catch {
            throw SimulationError(.deviceFailed, "\(directory)/agent.json: \(error)")
        }
        configuration.stateDir = directory
        self.configuration = configuration
        device = configuration.deviceID
        var logger = logger
        logger[metadataKey: "device"] = "\(device)"
        let settings = configuration.buffer
        do {
            buffer = try ReadingBuffer(
                configuration: .init(
                    path: configuration.bufferPath, capacity: BufferCapacity(maxRows: settings.maxRows, maxBytes: settings.maxBytes),
                    commitInterval: .milliseconds(settings.commitIntervalMs), commitRows: settings.commitRows,
                    synchronousFull: settings.synchronous == "full",
                    corruptRetention: settings.corruptRetentionDays > 0 ? .seconds(settings.corruptRetentionDays * 86_400) : nil),
                logger: Logger.child(logger, "agent.buffer"))
        } catch {
            throw SimulationError(.deviceFailed, "\(device): buffer \(configuration.bufferPath): \(error)")
        }
        committer = BufferCommitter(buffer: buffer)
        let meter = SimulatedMeter(rate: rate, seed: seed)
        let events = EventQueue(device: device)
        scheduler = SourceScheduler(sources: [(meter, meter.interval)], buffer: buffer, events: events,
                                    logger: Logger.child(logger, "agent.sources"))
        let commands = CommandRegistry([PingCommand(), SetIntervalCommand(scheduler: scheduler), CollectNowCommand(scheduler: scheduler)])
        let mqtt = configuration.mqtt
        publisher = Publisher(
            device: device, settings: configuration.publisher, brokerSettings: { mqtt }, buffer: buffer, events: events,
            logger: Logger.child(logger, "agent.publisher"))
        commandService = CommandService(registry: commands, publisher: publisher, lifecycle: AgentLifecycle(),
                                        logger: Logger.child(logger, "agent.commands"))
    }

    /// The buffer's figures, with samples still waiting for their commit counted as pending.
    public func snapshot() async -> DeviceSnapshot {
        let stats = await buffer.stats()
        let uncommitted = await buffer.pendingCount
        return DeviceSnapshot(device: device, buffer: stats.buffer, lastSeq: stats.lastSeq, pending: Int64(stats.depth + uncommitted),
                              dropped: stats.dropped, ackedThisRun: publisher.figures.ackedReadings)
    }
}
