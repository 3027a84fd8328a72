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

/// The whole agent wired together: buffer, sources, publisher, command execution and the
/// status file in one service group with SIGTERM and SIGINT as graceful signals.
/// `outpost-agent run` and the tests both build it here.
///
/// Shutdown order (reverse of start): sources stop (killing running commands), the
/// buffer commits what they left, the publisher says offline and disconnects, then command
/// execution ends with the publisher's last session (a command still running is cancelled
/// once the client is gone, as when the publisher ran commands itself), and the status
/// file says `stopped`.
/// The group allows 8 s for that, so the process exits 0 within 10 s of SIGTERM.
public final class Agent: Sendable {
    public let configuration: AgentConfiguration
    public let buffer: ReadingBuffer
    public let scheduler: SourceScheduler
    public let publisher: Publisher
    public let commands: CommandRegistry
    public let lifecycle: AgentLifecycle
    public let events: EventQueue
    private let group: ServiceGroup

    /// - Parameters:
    ///   - extraHandlers: command handlers besides the built-ins (for example `start_stream`).
    ///   - brokerSettings: read at every (re)build of the MQTT client; defaults to the
    ///     configuration's `mqtt` section. Certificate renewal passes the renewed files here
    ///     and then calls `publisher.renewConnection()`.
    ///   - extraServices: long-lived parts besides the core (the stream event forwarder, the
    ///     certificate renewer); they stop first at shutdown.
    ///   - events: the queue for the `events` topic, when parts built before the agent post to it.
    public init(configuration: AgentConfiguration, extraHandlers: [any CommandHandler] = [], extraServices: [any Service] = [],
                events: EventQueue? = nil, brokerSettings: (@Sendable () -> BrokerSettings)? = nil, logger: Logger) throws {
        self.configuration = configuration
        if mkdir(configuration.stateDir, 0o700) != 0 && errno != EEXIST {
            throw BufferError(.openFailed, "cannot create state directory \(configuration.stateDir): \(String(cString: strerror(errno)))")
        }
        var logger = logger
        logger[metadataKey: "device"] = "\(configuration.deviceID)"
        let events = events ?? EventQueue(device: configuration.deviceID)
        self.events = events
        let settings = configuration.buffer
        buffer = try ReadingBuffer(
            configuration: .init(
                path: configuration.bufferPath, capacity: BufferCapacity(maxRows: settings.maxRows, maxBytes: settings.maxBytes),
                commitInterval: .milliseconds(settings.commitIntervalMs), commitRows: settings.commitRows,
                synchronousFull: settings.synchronous == "full",
                corruptRetention: settings.corruptRetentionDays > 0 ? .seconds(settings.corruptRetentionDays * 86_400) : nil),
            logger: Logger.child(logger, "agent.buffer"))
        if let recovered = buffer.recoveredFrom {
            events.post(DeviceEvent.Kind.bufferRecovered, ["moved_to": .string(recovered.movedTo), "reason": .string(recovered.reason)])
        }
        scheduler = SourceScheduler(
            sources: configuration.sources.map {
                (SourceFactory.make($0, stateDir: configuration.stateDir), Duration.milliseconds(Int64(($0.intervalS * 1000).rounded())))
            },
            buffer: buffer, events: events, logger: Logger.child(logger, "agent.sources"))
        lifecycle = AgentLifecycle()
        commands = CommandRegistry([
            PingCommand(), SetIntervalCommand(scheduler: scheduler), CollectNowCommand(scheduler: scheduler),
            RestartAgentCommand(lifecycle: lifecycle),
        ])
        for handler in extraHandlers { commands.register(handler) }
        let mqtt = configuration.mqtt
        let brokerSettings = brokerSettings ?? { mqtt }
        let scheduler = self.scheduler
        publisher = Publisher(
            device: configuration.deviceID, settings: configuration.publisher, brokerSettings: brokerSettings, buffer: buffer,
            events: events, logger: Logger.child(logger, "agent.publisher"))
        let statusWriter = StatusWriter(
            stateDir: configuration.stateDir, device: configuration.deviceID, buffer: buffer, publisher: publisher,
            brokerSettings: brokerSettings, sourceCounters: { scheduler.counters() }, logger: Logger.child(logger, "agent.status"))
        let commandService = CommandService(registry: commands, publisher: publisher, lifecycle: lifecycle,
                                            logger: Logger.child(logger, "agent.commands"))
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: statusWriter), .init(service: commandService), .init(service: publisher),
                .init(service: BufferCommitter(buffer: buffer)), .init(service: scheduler),
            ] + extraServices.map { .init(service: $0) } + [.init(service: SystemdWatchdogService())],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger.child(logger, "agent.lifecycle"))
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(8)
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        group = ServiceGroup(configuration: groupConfiguration)
        lifecycle.attach(group)
    }

    /// Runs until SIGTERM, SIGINT, `restart_agent` or ``shutdown()``.
    public func run() async throws {
        try await group.run()
    }

    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }
}
