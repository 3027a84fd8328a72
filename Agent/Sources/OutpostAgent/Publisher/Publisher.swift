#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
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
///   unacknowledged (``InflightWindow``) and at a rate (``DrainRate``) that ``DrainController``
///   raises while acks come back fast and halves when they slow or report the centre's
///   `pressure` at 0.5 or more, up to `drain_rate` readings/s,
///   so a backlog after an outage drains as fast as the centre takes it.
/// - An ack deletes exactly the seq ranges it names, if it names this buffer.
/// - A batch without a full ack after `ack_timeout_s`, or sent before a reconnect, is
///   sent again with whatever of it is still in the buffer.
/// - At every connect it publishes a retained `online` state (version, depth, oldest
///   unacked age, dropped); the will is a retained `offline`, and a graceful shutdown
///   publishes `offline` itself before disconnecting.
/// - The centre's commands of each session go to the ``CommandService`` (``commandSessions``);
///   the status file is the ``StatusWriter``'s.
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
        /// The drain rate now (readings/s), as ``DrainController`` set it.
        public var drainRate: Double = 0
    }

    struct State {
        var window: InflightWindow
        var rate: DrainRate
        var controller: DrainController
        /// The rate made the pump wait since the last ack.
        var rateLimited = false
        var figures = Figures()
        var reportedDropped: Int64?
    }

    let device: DeviceID
    let settings: PublisherSettings
    let brokerSettings: @Sendable () -> BrokerSettings
    let buffer: ReadingBuffer
    let events: EventQueue
    let logger: Logger
    let codec = WireCodec()
    let state: Mutex<State>
    let pumpWakeup = Wakeup()
    let renewRequested = Atomic<Bool>(false)
    let sessionEnd = Wakeup()
    let clock = ContinuousClock()
    let epoch: ContinuousClock.Instant
    /// One ``CommandSession`` per MQTT session; a session no one took yet gives way to the next.
    let commandSessions: AsyncStream<CommandSession>
    let commandSessionOpened: AsyncStream<CommandSession>.Continuation

    public init(
        device: DeviceID, settings: PublisherSettings, brokerSettings: @escaping @Sendable () -> BrokerSettings,
        buffer: ReadingBuffer, events: EventQueue, logger: Logger
    ) {
        self.device = device
        self.settings = settings
        self.brokerSettings = brokerSettings
        self.buffer = buffer
        self.events = events
        var logger = logger
        logger[metadataKey: "device"] = "\(device)"
        self.logger = logger
        self.epoch = clock.now
        self.state = Mutex(State(
            window: InflightWindow(capacity: settings.window, ackTimeoutMs: Int64(settings.ackTimeoutS * 1000)),
            rate: settings.drainBucket, controller: settings.drainController))
        (commandSessions, commandSessionOpened) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public var figures: Figures { state.withLock { $0.figures } }

    /// Drops the current connection and connects again with freshly read broker settings.
    public func renewConnection() {
        renewRequested.store(true, ordering: .sequentiallyConsistent)
        sessionEnd.signal()
    }

    var monotonicMs: Int64 {
        let elapsed = epoch.duration(to: clock.now).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    func topic(_ kind: Topic.Kind) -> String { Topic(device, kind).name }

    // MARK: Service

    public func run() async throws {
        await buffer.onCommit(pumpWakeup)
        defer { commandSessionOpened.finish() }
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
                if await goOffline(session) { await consumer.value }
                break
            }
            logger.info("renewing the mqtt connection with fresh settings")
            await session.shutdown()
            await consumer.value
            state.withLock { $0.window.markAllForResend() }
        }
    }

    func makeClient() throws -> MQTTClient {
        let offline = DeviceState(device: device, status: .offline, ts: WireClock.nowMs(), version: OutpostVersion.current)
        let will = MQTTConfiguration.Will(topic: topic(.state), payload: (try? codec.encode(offline)) ?? [], qos: .atLeastOnce, retain: true)
        var configuration = brokerSettings().clientConfiguration(
            clientID: device.rawValue, will: will, sessionExpiry: UInt32(settings.sessionExpiryS))
        configuration.incomingBufferLimit = 256
        configuration.backoff = ReconnectBackoff(initial: 0.2, maximum: 15)
        return try MQTTClient(configuration: configuration, logger: logger)
    }

    /// Graceful end: commit what sources left, say offline, disconnect (no will).
    /// - Returns: whether the client finished shutting down (so its event stream has ended).
    func goOffline(_ client: MQTTClient) async -> Bool {
        await buffer.close()
        if client.isConnected {
            let stats = await buffer.stats()
            let offline = deviceState(.offline, stats)
            if let payload = try? codec.encode(offline) {
                _ = await publishConfirmed(client, topic(.state), payload, retain: true, timeout: .seconds(2))
            }
        }
        // The network thread may sit in a blocking connect to an unreachable broker; do not
        // let that hold the exit past the 10 s promise. The process ends right after.
        let finished = Wakeup()
        let stopped = Atomic<Bool>(false)
        Task {
            await client.shutdown()
            stopped.store(true, ordering: .sequentiallyConsistent)
            finished.signal()
        }
        await finished.wait(timeout: .seconds(3))
        state.withLock { $0.figures.connected = false }
        let clean = stopped.load(ordering: .sequentiallyConsistent)
        logger.info("publisher stopped", metadata: ["clean_disconnect": "\(clean)"])
        return clean
    }

    /// Publishes QoS 1 and waits for the PUBACK, at most `timeout`. Returns whether it came.
    func publishConfirmed(_ client: MQTTClient, _ topic: String, _ payload: [UInt8], retain: Bool, timeout: Duration) async -> Bool {
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
}
