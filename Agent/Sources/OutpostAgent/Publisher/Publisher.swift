#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostCommon
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sends buffered readings to the centre and deletes them only when the centre acks them.
///
/// - Batches of up to `batch_size` readings, oldest first, with at most `window` batches
///   unacknowledged (``InflightWindow``) and at most `drain_rate` readings per second
///   (``DrainRate``), so a backlog after an outage drains steadily.
/// - An ack deletes exactly the seq ranges it names, if it names this buffer.
/// - A batch without a full ack after `ack_timeout_s`, or sent before a reconnect, is
///   sent again with whatever of it is still in the buffer.
/// - At every connect it publishes a retained `online` state (version, depth, oldest
///   unacked age, dropped); the will is a retained `offline`, and a graceful shutdown
///   publishes `offline` itself before disconnecting.
/// - Commands go through the ``CommandRegistry`` one at a time; each gets a `cmd/result`.
/// - ``renewConnection()`` rebuilds the MQTT client from fresh ``BrokerSettings`` (new
///   certificate files after a renewal) without losing the window.
public final class Publisher: Service, Sendable {
    public struct Figures: Sendable, Equatable {
        public var connected = false
        public var connectedSince: Int64?
        public var lastAckAt: Int64?
        public var ackedReadings: Int64 = 0
        public var batchesSent: Int64 = 0
        public var batchesResent: Int64 = 0
        public var refusedMessages: Int64 = 0
        public var inflightBatches = 0
    }

    private struct State {
        var window: InflightWindow
        var rate: DrainRate
        var figures = Figures()
        var reportedDropped: Int64?
    }

    let device: DeviceID
    let settings: PublisherSettings
    private let brokerSettings: @Sendable () -> BrokerSettings
    private let buffer: ReadingBuffer
    private let commands: CommandRegistry
    private let events: EventQueue
    private let lifecycle: AgentLifecycle
    private let stateDir: String?
    private let sourceCounters: @Sendable () -> [String: SourceScheduler.Counters]
    private let logger: Logger
    private let codec = WireCodec()
    private let state: Mutex<State>
    private let pumpWakeup = Wakeup()
    private let renewRequested = Atomic<Bool>(false)
    private let sessionEnd = Wakeup()
    private let clock = ContinuousClock()
    private let epoch: ContinuousClock.Instant

    public init(
        device: DeviceID, settings: PublisherSettings, brokerSettings: @escaping @Sendable () -> BrokerSettings,
        buffer: ReadingBuffer, commands: CommandRegistry, events: EventQueue, lifecycle: AgentLifecycle,
        stateDir: String?, sourceCounters: @escaping @Sendable () -> [String: SourceScheduler.Counters] = { [:] },
        logger: Logger
    ) {
        self.device = device
        self.settings = settings
        self.brokerSettings = brokerSettings
        self.buffer = buffer
        self.commands = commands
        self.events = events
        self.lifecycle = lifecycle
        self.stateDir = stateDir
        self.sourceCounters = sourceCounters
        var logger = logger
        logger[metadataKey: "device"] = "\(device)"
        self.logger = logger
        self.epoch = clock.now
        self.state = Mutex(State(
            window: InflightWindow(capacity: settings.window, ackTimeoutMs: Int64(settings.ackTimeoutS * 1000)),
            rate: DrainRate(readingsPerSecond: settings.drainRate, burst: max(Double(settings.batchSize), settings.drainRate))))
    }

    public var figures: Figures { state.withLock { $0.figures } }

    /// Drops the current connection and connects again with freshly read broker settings.
    public func renewConnection() {
        renewRequested.store(true, ordering: .sequentiallyConsistent)
        sessionEnd.signal()
    }

    private var monotonicMs: Int64 {
        let elapsed = epoch.duration(to: clock.now).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    private func topic(_ kind: Topic.Kind) -> String { Topic(device, kind).name }

    // MARK: Service

    public func run() async throws {
        await buffer.onCommit(pumpWakeup)
        var isFirstSession = true
        while true {
            renewRequested.store(false, ordering: .sequentiallyConsistent)
            let session: MQTTClient
            do {
                session = try makeClient()
            } catch where !isFirstSession {
                // A renewal whose files do not load: keep trying, the readings stay on disk.
                logger.error("mqtt client could not be rebuilt; retrying in 5 s", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(5))
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                renewRequested.store(true, ordering: .sequentiallyConsistent)
                continue
            }
            isFirstSession = false
            // Not a child of the session's task group: it must not stop at cancellation, but
            // drain the event stream until the client finishes it, so every message the
            // client handed over is taken (the client counts them) before it is released.
            let consumer = Task { await self.consumeEvents(session) }
            await cancelWhenGracefulShutdown { [self] in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.pump(session) }
                    group.addTask { await self.report(session) }
                    group.addTask { await self.sendEvents(session) }
                    group.addTask {
                        while !Task.isCancelled && !self.renewRequested.load(ordering: .sequentiallyConsistent) {
                            await self.sessionEnd.wait(timeout: .seconds(1))
                        }
                    }
                    session.start()
                    do {
                        try await session.subscribe(self.topic(.ack))
                        try await session.subscribe(self.topic(.cmd))
                    } catch {
                        self.logger.error("subscribing failed", metadata: ["error": "\(error)"])
                    }
                    // Ends when renewal is asked for (the watcher returns) or at shutdown (cancellation).
                    await group.next()
                    group.cancelAll()
                }
            }
            if Task.isShuttingDownGracefully || Task.isCancelled || !renewRequested.load(ordering: .sequentiallyConsistent) {
                await goOffline(session)
                await consumer.value
                break
            }
            logger.info("renewing the mqtt connection with fresh settings")
            await session.shutdown()
            await consumer.value
            state.withLock { $0.window.markAllForResend() }
        }
        await writeStatus(connection: "stopped")
    }

    private func makeClient() throws -> MQTTClient {
        let offline = DeviceState(device: device, status: .offline, ts: WireClock.nowMs(), version: OutpostVersion.current)
        let will = MQTTConfiguration.Will(topic: topic(.state), payload: (try? codec.encode(offline)) ?? [], qos: .atLeastOnce, retain: true)
        var configuration = brokerSettings().clientConfiguration(
            clientID: device.rawValue, will: will, sessionExpiry: UInt32(settings.sessionExpiryS))
        configuration.incomingBufferLimit = 256
        configuration.backoff = ReconnectBackoff(initial: 0.2, maximum: 15)
        return try MQTTClient(configuration: configuration, logger: logger)
    }

    /// Graceful end: commit what sources left, say offline, disconnect (no will).
    private func goOffline(_ client: MQTTClient) async {
        await buffer.close()
        if client.isConnected {
            let stats = await buffer.stats()
            let offline = deviceState(.offline, stats)
            if let payload = try? codec.encode(offline) {
                _ = await publishConfirmed(client, topic(.state), payload, retain: true, timeout: .seconds(2))
            }
        }
        await client.shutdown()
        state.withLock { $0.figures.connected = false }
        logger.info("publisher stopped")
    }

    /// Publishes QoS 1 and waits for the PUBACK, at most `timeout`. Returns whether it came.
    private func publishConfirmed(_ client: MQTTClient, _ topic: String, _ payload: [UInt8], retain: Bool, timeout: Duration) async -> Bool {
        let done = Wakeup()
        let confirmed = Atomic<Bool>(false)
        Task {
            if (try? await client.publish(topic, payload: payload, retain: retain)) != nil {
                confirmed.store(true, ordering: .sequentiallyConsistent)
            }
            done.signal()
        }
        await done.wait(timeout: timeout)
        return confirmed.load(ordering: .sequentiallyConsistent)
    }

    // MARK: Incoming

    private func consumeEvents(_ client: MQTTClient) async {
        let (commandStream, commandQueue) = AsyncStream<Command>.makeStream(bufferingPolicy: .bufferingOldest(64))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runCommands(commandStream, client) }
            for await event in client.events {
                switch event {
                case .connected(let sessionPresent):
                    let now = WireClock.nowMs()
                    state.withLock { state in
                        state.figures.connected = true
                        state.figures.connectedSince = now
                        state.window.markAllForResend()
                    }
                    logger.info("connected; re-sending unacknowledged batches", metadata: ["session_present": "\(sessionPresent)"])
                    await publishState(client)
                    pumpWakeup.signal()
                    events.wakeup.signal()
                case .disconnected, .connectionFailed:
                    state.withLock { $0.figures.connected = false }
                case .message(let message):
                    if message.topic == topic(.ack) {
                        await handleAck(message.payload)
                    } else if message.topic == topic(.cmd) {
                        handleCommand(message.payload, client: client, queue: commandQueue)
                    }
                }
            }
            commandQueue.finish()
            group.cancelAll()
        }
    }

    private func handleAck(_ payload: [UInt8]) async {
        let ack: Ack
        do {
            ack = try codec.decode(Ack.self, from: payload, topicDevice: device)
        } catch {
            state.withLock { $0.figures.refusedMessages += 1 }
            logger.warning("ack refused", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
            return
        }
        guard ack.buffer == buffer.bufferID else {
            logger.info("ack for another buffer ignored", metadata: ["ack_buffer": "\(ack.buffer)"])
            return
        }
        do {
            let deleted = try await buffer.acknowledge(ack.ranges)
            let now = WireClock.nowMs()
            state.withLock { state in
                state.window.acknowledge(ack.ranges)
                state.figures.lastAckAt = now
                state.figures.ackedReadings += Int64(deleted)
                state.figures.inflightBatches = state.window.entries.count
            }
            logger.debug("ack", metadata: ["ranges": "\(ack.ranges.count)", "deleted": "\(deleted)"])
            pumpWakeup.signal()
        } catch {
            // The readings stay; a later ack of the re-sent batch deletes them.
            logger.error("deleting acked readings failed", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
        }
    }

    private func handleCommand(_ payload: [UInt8], client: MQTTClient, queue: AsyncStream<Command>.Continuation) {
        let command: Command
        do {
            command = try codec.decode(Command.self, from: payload)
        } catch {
            state.withLock { $0.figures.refusedMessages += 1 }
            logger.warning("command refused", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
            if let id = Self.commandID(in: payload) {
                publishResult(.failure(id: id, code: CommandResult.Failure.invalidArgs, message: "\(error.code): \(error.context)"), client)
            }
            return
        }
        if case .dropped = queue.yield(command) {
            publishResult(.failure(id: command.id, code: CommandResult.Failure.failed, message: "too many commands waiting"), client)
        }
    }

    /// The id of a command that failed validation, so the sender still gets a result.
    private static func commandID(in payload: [UInt8]) -> String? {
        guard payload.count <= WireLimits.standard.maxPayloadBytes,
              let object = try? JSONDecoder().decode(JSONValue.self, from: Data(payload)), let id = object["id"]?.stringValue, Command.isValidID(id)
        else { return nil }
        return id
    }

    private func runCommands(_ stream: AsyncStream<Command>, _ client: MQTTClient) async {
        var commandLogger = logger
        commandLogger[metadataKey: "component"] = "commands"
        for await command in stream {
            let result = await commands.execute(command, nowMs: WireClock.nowMs(), logger: commandLogger)
            if lifecycle.isRestartRequested {
                if let payload = try? codec.encode(result) {
                    _ = await publishConfirmed(client, topic(.cmdResult), payload, retain: false, timeout: .seconds(3))
                }
                await lifecycle.performPendingRestart()
            } else {
                publishResult(result, client)
            }
        }
    }

    private func publishResult(_ result: CommandResult, _ client: MQTTClient) {
        do {
            try client.publishDetached(topic(.cmdResult), payload: try codec.encode(result))
        } catch {
            logger.warning("command result not sent", metadata: ["command": "\(result.id)", "error": "\(error)"])
        }
    }

    // MARK: Outgoing readings

    /// Fills the window: re-sends what is due, then new batches, within the drain rate.
    private func pump(_ client: MQTTClient) async {
        while !Task.isCancelled {
            await pumpWakeup.wait(timeout: .milliseconds(100))
            guard client.isConnected else { continue }
            do {
                while !Task.isCancelled, client.isConnected, try await sendNext(client) {}
            } catch {
                logger.error("reading the buffer failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Sends one batch if one is due and allowed. Returns false when there is nothing to do now.
    private func sendNext(_ client: MQTTClient) async throws -> Bool {
        let now = monotonicMs
        let (resend, cursor, hasRoom, allowance) = state.withLock { state in
            (state.window.dueForResend(nowMs: now).first, state.window.cursor, state.window.hasRoom,
             state.rate.allowance(nowMs: now, limit: settings.batchSize))
        }
        let readings: [Reading]
        let isResend: Bool
        if let resend {
            readings = try await buffer.readings(in: resend.span, limit: settings.batchSize)
            if readings.isEmpty {
                state.withLock { $0.window.forget(resend.span) }
                return true
            }
            isResend = true
        } else if hasRoom {
            readings = try await buffer.readings(after: cursor, limit: settings.batchSize)
            guard !readings.isEmpty else { return false }
            isResend = false
        } else {
            return false
        }
        if allowance < readings.count {
            let delay = state.withLock { $0.rate.delayMs(until: readings.count) }
            try? await Task.sleep(for: .milliseconds(max(1, delay)))
            return !Task.isCancelled
        }
        let batch = TelemetryBatch(device: device, buffer: buffer.bufferID, readings: readings)
        try client.publishDetached(topic(.telemetry), payload: try codec.encode(batch))
        let sentAt = monotonicMs
        state.withLock { state in
            state.rate.spend(readings.count, nowMs: sentAt)
            if isResend, let resend {
                state.window.recordResent(resend.span, nowMs: sentAt)
                state.figures.batchesResent += 1
            } else {
                state.window.recordSent(SeqRange(readings[0].seq, readings[readings.count - 1].seq), nowMs: sentAt)
                state.figures.batchesSent += 1
            }
            state.figures.inflightBatches = state.window.entries.count
        }
        if isResend {
            logger.debug("batch re-sent", metadata: ["first": "\(readings[0].seq)", "count": "\(readings.count)"])
        }
        return true
    }

    // MARK: State, events, status

    private func deviceState(_ status: DeviceState.Status, _ stats: BufferStats) -> DeviceState {
        let now = WireClock.nowMs()
        return DeviceState(
            device: device, status: status, ts: now, version: OutpostVersion.current, bufferDepth: Int64(stats.depth),
            oldestUnackedAgeMs: stats.oldestTs.map { max(0, now - $0) }, dropped: stats.dropped)
    }

    private func publishState(_ client: MQTTClient) async {
        let stats = await buffer.stats()
        state.withLock { $0.reportedDropped = stats.dropped }
        do {
            try client.publishDetached(topic(.state), payload: try codec.encode(deviceState(.online, stats)), retain: true)
        } catch {
            logger.warning("state not sent", metadata: ["error": "\(error)"])
        }
    }

    /// Every 2 s: the status file, and a state message when drops grew; every
    /// `state_interval_s`: a state message regardless.
    private func report(_ client: MQTTClient) async {
        var sinceState: Duration = .zero
        let stateInterval = Duration.milliseconds(Int64(settings.stateIntervalS * 1000))
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            if Task.isCancelled { break }
            sinceState += .seconds(2)
            let stats = await buffer.stats()
            let previous = state.withLock { state in
                defer { state.reportedDropped = stats.dropped }
                return state.reportedDropped
            }
            if let previous, stats.dropped > previous {
                events.post(DeviceEvent.Kind.bufferDropped, ["dropped": .number(Double(stats.dropped - previous)), "total": .number(Double(stats.dropped))])
            }
            if client.isConnected && (sinceState >= stateInterval || (previous.map { stats.dropped > $0 } ?? false)) {
                sinceState = .zero
                try? client.publishDetached(topic(.state), payload: try codec.encode(deviceState(.online, stats)), retain: true)
            }
            await writeStatus(connection: client.isConnected ? "connected" : "disconnected")
        }
    }

    private func sendEvents(_ client: MQTTClient) async {
        while !Task.isCancelled {
            await events.wakeup.wait(timeout: .seconds(5))
            guard client.isConnected else { continue }
            let waiting = events.take()
            for (index, event) in waiting.enumerated() {
                do {
                    try client.publishDetached(topic(.events), payload: try codec.encode(event))
                } catch {
                    events.putBack(Array(waiting[index...]))
                    break
                }
            }
        }
    }

    private func writeStatus(connection: String) async {
        guard let stateDir else { return }
        let stats = await buffer.stats()
        let figures = self.figures
        let now = WireClock.nowMs()
        let status = AgentStatus(
            pid: getpid(), device: device.rawValue, version: OutpostVersion.current, updatedAt: now, connection: connection,
            connectedSince: figures.connected ? figures.connectedSince : nil, buffer: stats.buffer.hex, bufferDepth: stats.depth,
            bufferBytes: stats.bytes, oldestUnackedAgeMs: stats.oldestTs.map { max(0, now - $0) }, dropped: stats.dropped,
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
