import CMosquitto
import Dispatch
import Logging
import OutpostSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An MQTT v5 client over libmosquitto, shared by the agent and the aggregator.
///
/// - TLS with a client certificate, a last will, QoS 1 publish and subscribe
///   (shared subscriptions are ordinary filters starting `$share/`).
/// - Its own network thread: connects, reconnects as ``MQTTConnectionState`` decides, and
///   re-subscribes every recorded subscription after each reconnect.
/// - Events (connection changes and messages) arrive on ``events``, with back-pressure.
/// - ``shutdown()`` sends DISCONNECT (so no will), stops the thread and ends the stream.
///
/// libmosquitto is told it is threaded (`mosquitto_threaded_set`), so publish and
/// subscribe may be called from any task while the network thread runs the loop.
public final class MQTTClient: Sendable {
    public let configuration: MQTTConfiguration
    public let events: MQTTEvents

    private let handle: Handle
    private let logger: Logger
    private let state: Mutex<State>
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    private let stopRequested = Atomic<Bool>(false)
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Ends the network thread's poll when a publish, subscribe or disconnect was queued.
    private let networkWake = NetworkWake()
    private let threadExited = DispatchSemaphore(value: 0)

    /// libmosquitto's handle; every use is serialised by libmosquitto's own locks.
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private struct State {
        var started = false
        var connection: MQTTConnectionState
        /// Filters to (re-)subscribe on every connect, in subscription order.
        var subscriptions: [(filter: String, qos: MQTTQoS)] = []
        var publishWaiters: [Int32: CheckedContinuation<Void, any Error>] = [:]
        var subscribeWaiters: [Int32: CheckedContinuation<[Int32]?, any Error>] = [:]
        var finished = false
    }

    /// Creates the client; nothing connects until ``start()``.
    ///
    /// - Throws: ``MQTTError`` `.invalidConfiguration` when libmosquitto refuses an option,
    ///   for example an unreadable certificate file.
    public init(configuration: MQTTConfiguration, logger: Logger) throws(MQTTError) {
        MQTTLibrary.ensureInitialized()
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(connection: MQTTConnectionState(
            endpoint: "\(configuration.host):\(configuration.port)", backoff: configuration.backoff,
            refusedCertificateBackoff: configuration.refusedCertificateBackoff)))
        let (stream, continuation) = AsyncStream<MQTTEvent>.makeStream(bufferingPolicy: .unbounded)
        self.continuation = continuation
        self.events = MQTTEvents(stream: stream, credits: DispatchSemaphore(value: configuration.incomingBufferLimit))
        guard let pointer = mosquitto_new(configuration.clientID, configuration.sessionExpiry == 0, nil) else {
            throw MQTTError(.invalidConfiguration, "mosquitto_new failed for client id \(configuration.clientID)")
        }
        self.handle = Handle(pointer: pointer)
        if networkWake == nil {
            logger.warning("mqtt: no wake socket (out of file descriptors?): each publish may wait up to 200 ms for the network thread")
        }
        // On failure, deinit destroys the handle.
        try configure()
    }

    deinit {
        // libdispatch traps when a semaphore is released below its initial value, which is
        // the case when messages were handed to the stream but never taken. Give them back.
        for _ in 0..<configuration.incomingBufferLimit { events.credits.signal() }
        mosquitto_destroy(handle.pointer)
    }

    private func configure() throws(MQTTError) {
        let mosq = handle.pointer
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "protocol version")
        try check(mosquitto_threaded_set(mosq, true), "threaded mode")
        if let tls = configuration.tls {
            try TLSFiles.check(tls)
            try check(mosquitto_tls_set(mosq, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil), "TLS files")
            try check(mosquitto_tls_opts_set(mosq, 1, "tlsv1.2", nil), "TLS options")
            try check(mosquitto_tls_insecure_set(mosq, !tls.verifyHostname), "TLS host name check")
        }
        if let will = configuration.will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set_v5(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos.rawValue, will.retain, nil)
            }
            try check(rc, "last will")
        }
        MosquittoCallbacks.install(on: mosq)
    }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError(.invalidConfiguration, "\(what): \(MQTTLibrary.describe(rc))")
        }
    }

    // MARK: Lifecycle

    /// Starts the network thread, which connects and keeps reconnecting until ``shutdown()``.
    public func start() {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        NetworkThread.spawn { [self] in
            runNetworkLoop()
            threadExited.signal()
        }
    }

    /// Disconnects cleanly (the broker does not publish the will), stops the network
    /// thread and finishes ``events``. Waiting publishes and subscribes fail with `.shutdown`.
    public func shutdown() async {
        guard !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let wasStarted = state.withLock { $0.started }
        if wasStarted {
            mosquitto_disconnect_v5(handle.pointer, 0, nil)
            networkWake?.signal()
            wakeUp.signal()
            // Wake a network thread waiting for the consumer to take a message.
            events.credits.signal()
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { [threadExited] in
                    threadExited.wait()
                    done.resume()
                }
            }
        }
        finish()
    }

    /// True while a connection is accepted by the broker.
    public var isConnected: Bool { state.withLock { $0.connection.isConnected } }

    private func finish() {
        let (publishWaiters, subscribeWaiters) = state.withLock { state in
            state.finished = true
            _ = state.connection.handle(.stop)
            defer {
                state.publishWaiters = [:]
                state.subscribeWaiters = [:]
            }
            return (state.publishWaiters, state.subscribeWaiters)
        }
        let error = MQTTError(.shutdown, "client \(configuration.clientID) shut down")
        publishWaiters.values.forEach { $0.resume(throwing: error) }
        subscribeWaiters.values.forEach { $0.resume(throwing: error) }
        continuation.finish()
    }

    // MARK: Network thread

    private func runNetworkLoop() {
        let mosq = handle.pointer
        var properties: OpaquePointer? = nil
        if configuration.sessionExpiry > 0 {
            mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), configuration.sessionExpiry)
        }
        mosquitto_property_add_int16(&properties, Int32(MQTT_PROP_RECEIVE_MAXIMUM.rawValue), configuration.receiveMaximum)
        defer { mosquitto_property_free_all(&properties) }

        var socketOpen = false
        var stopDeadline: ContinuousClock.Instant? = nil
        while true {
            if stopRequested.load(ordering: .relaxed) {
                guard socketOpen else { break }
                let deadline = stopDeadline ?? .now + .seconds(2)
                stopDeadline = deadline
                if ContinuousClock.now > deadline { break }
            }
            if !socketOpen {
                guard transition(.connectRequested).actions.contains(.connect) else { break }
                let rc = mosquitto_connect_bind_v5(
                    mosq, configuration.host, Int32(configuration.port), Int32(configuration.keepAlive), nil, properties)
                if rc == MOSQ_ERR_SUCCESS.rawValue {
                    socketOpen = true
                } else {
                    perform(transition(.connectionEnded(Self.failure(rc))))
                    continue
                }
            }
            let rc = Self.step(mosq, wake: networkWake, timeoutMs: 200)
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                socketOpen = false
                if stopRequested.load(ordering: .relaxed) { break }
                perform(transition(.connectionEnded(Self.failure(rc))))
            }
        }
    }

    /// One turn of the network loop: what `mosquitto_loop` does, but waiting with poll(2).
    /// `mosquitto_loop` waits with select(2), which fails for a socket numbered 1024 or more,
    /// so a process holding many descriptors (a simulator with hundreds of devices, an
    /// aggregator with many HTTP clients) could never reconnect once its new socket got a
    /// high number. The wait also ends when another thread queued a packet (`wake`).
    static func step(_ mosq: OpaquePointer, wake: NetworkWake?, timeoutMs: Int32) -> Int32 {
        let socket = mosquitto_socket(mosq)
        guard socket >= 0 else { return Int32(MOSQ_ERR_NO_CONN.rawValue) }
        var events = Int16(POLLIN)
        if mosquitto_want_write(mosq) { events |= Int16(POLLOUT) }
        var descriptors = [pollfd(fd: socket, events: events, revents: 0), pollfd(fd: wake?.readEnd ?? -1, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMs)
        if ready < 0 { return errno == EINTR ? Int32(MOSQ_ERR_SUCCESS.rawValue) : Int32(MOSQ_ERR_ERRNO.rawValue) }
        if descriptors[1].revents != 0 { wake?.clear() }
        let descriptor = descriptors[0]
        if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            let rc = mosquitto_loop_read(mosq, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(mosq) < 0 { return rc }
        }
        // Packets queued by callbacks during the read go out now rather than after the next wait.
        if mosquitto_want_write(mosq) {
            let rc = mosquitto_loop_write(mosq, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(mosq) < 0 { return rc }
        }
        return mosquitto_loop_misc(mosq)
    }

    private static func failure(_ rc: Int32) -> MQTTConnectionState.Failure {
        MQTTConnectionState.Failure(tls: rc == MOSQ_ERR_TLS.rawValue, reason: MQTTLibrary.describe(rc))
    }

    /// What the connection state decided, with the subscriptions as they stood at that moment.
    private typealias Step = (actions: [MQTTConnectionState.Action], subscriptions: [(filter: String, qos: MQTTQoS)])

    /// Steps the connection state under the lock.
    private func transition(_ event: MQTTConnectionState.Event) -> Step {
        state.withLock { state in (state.connection.handle(event), state.subscriptions) }
    }

    /// Carries out what the connection state decided (network thread).
    private func perform(_ step: Step) {
        for action in step.actions {
            switch action {
            case .connect:
                // Only `.connectRequested` answers it, and the network loop opens the socket itself.
                break
            case .resubscribe:
                for subscription in step.subscriptions {
                    var messageID: Int32 = 0
                    mosquitto_subscribe_v5(handle.pointer, &messageID, subscription.filter, subscription.qos.rawValue, 0, nil)
                }
            case .emit(let event):
                switch event {
                case .connected(let sessionPresent):
                    logger.info("mqtt connected", metadata: ["session_present": "\(sessionPresent)", "resubscribed": "\(step.subscriptions.count)"])
                case .disconnected(let reasonCode):
                    logger.info("mqtt disconnected", metadata: ["reason_code": "\(reasonCode)"])
                case .connectionFailed, .message:
                    break
                }
                continuation.yield(event)
            case .fail(let error, let reason):
                switch error.code {
                case .certificateRefused:
                    logger.error("the broker refused this client's certificate (revoked, expired or not issued by its CA); retrying slowly", metadata: [
                        "code": "\(error.code)", "reason": "\(reason)",
                        "certificate": "\(configuration.tls?.certificateFile ?? "")",
                    ])
                case .refused:
                    logger.warning("mqtt connection refused", metadata: ["reason": "\(reason)"])
                default:
                    logger.warning("mqtt connection attempt failed", metadata: ["code": "\(error.code)", "reason": "\(reason)"])
                }
                continuation.yield(.connectionFailed(error))
            case .reconnect(let delay):
                _ = wakeUp.wait(timeout: .now() + delay)
            }
        }
    }

    /// libmosquitto's log lines (network thread). Only OpenSSL's reports of a TLS alert from the
    /// broker that refuses our certificate are kept; the next failed attempt reports them.
    func handleLog(level: Int32, message: String) {
        guard level == MOSQ_LOG_ERR, let alert = TLSAlert.certificateRefusal(in: message) else { return }
        _ = transition(.certificateRefused(alert: alert))
    }

    // MARK: Callbacks (network thread)

    func handleConnack(reasonCode: Int32, sessionPresent: Bool) {
        let reason = reasonCode == 0 ? "" : String(cString: mosquitto_reason_string(reasonCode))
        perform(transition(.connack(reasonCode: reasonCode, reason: reason, sessionPresent: sessionPresent)))
    }

    func handleDisconnect(reasonCode: Int32) {
        perform(transition(.disconnected(reasonCode: reasonCode)))
    }

    func handlePublishCompleted(messageID: Int32, reasonCode: Int32) {
        let waiter = state.withLock { $0.publishWaiters.removeValue(forKey: messageID) }
        if reasonCode >= 0x80 {
            let reason = String(cString: mosquitto_reason_string(reasonCode))
            waiter?.resume(throwing: MQTTError(.invalidMessage, "broker refused publish: \(reason)"))
        } else {
            waiter?.resume()
        }
    }

    func handleSubscribeCompleted(messageID: Int32, granted: [Int32]) {
        state.withLock { $0.subscribeWaiters.removeValue(forKey: messageID) }?.resume(returning: granted)
    }

    func handleMessage(_ message: MQTTMessage) {
        // Back-pressure: wait for the consumer, but keep checking for shutdown.
        while !events.credits.wait(timeout: .now() + .milliseconds(250)).isSuccess {
            if stopRequested.load(ordering: .relaxed) { return }
        }
        continuation.yield(.message(message))
    }

    // MARK: Operations

    /// Publishes and waits for the broker's PUBACK (QoS 1) or for the send (QoS 0).
    ///
    /// PUBACK is hop-by-hop only: it says the broker has the message, not that the
    /// subscriber stored it. Outpost's end-to-end ack is a separate message.
    public func publish(_ topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) async throws {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, MQTTError>? = state.withLock { state in
                // The lock is held across the call so the completion callback cannot run before the waiter is recorded.
                if state.finished { return .failure(MQTTError(.shutdown, "client is shut down")) }
                guard state.connection.isConnected else { return .failure(MQTTError(.notConnected, "not connected to the broker")) }
                var messageID: Int32 = 0
                let rc = send(topic, payload, qos, retain, &messageID)
                guard rc == MOSQ_ERR_SUCCESS.rawValue else { return .failure(Self.publishError(rc)) }
                state.publishWaiters[messageID] = waiter
                return nil
            }
            switch outcome {
            case .failure(let error): waiter.resume(throwing: error)
            case .success: waiter.resume()
            case nil: break
            }
        }
    }

    /// Queues a publish without waiting for its PUBACK. Throws only if libmosquitto refuses it.
    /// QoS 1 messages queued while disconnected are sent after the next reconnect.
    public func publishDetached(_ topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) throws(MQTTError) {
        var messageID: Int32 = 0
        let rc = send(topic, payload, qos, retain, &messageID)
        if rc != MOSQ_ERR_SUCCESS.rawValue && !(rc == MOSQ_ERR_NO_CONN.rawValue && qos == .atLeastOnce) {
            throw Self.publishError(rc)
        }
    }

    private func send(_ topic: String, _ payload: [UInt8], _ qos: MQTTQoS, _ retain: Bool, _ messageID: inout Int32) -> Int32 {
        payload.withUnsafeBytes { bytes in
            let rc = mosquitto_publish_v5(handle.pointer, &messageID, topic, Int32(bytes.count), bytes.baseAddress, qos.rawValue, retain, nil)
            if rc == MOSQ_ERR_SUCCESS.rawValue { networkWake?.signal() }
            return rc
        }
    }

    private static func publishError(_ rc: Int32) -> MQTTError {
        switch rc {
        case MOSQ_ERR_NO_CONN.rawValue: MQTTError(.notConnected, "not connected to the broker")
        case MOSQ_ERR_PAYLOAD_SIZE.rawValue, MOSQ_ERR_INVAL.rawValue, MOSQ_ERR_MALFORMED_UTF8.rawValue,
            MOSQ_ERR_OVERSIZE_PACKET.rawValue, MOSQ_ERR_QOS_NOT_SUPPORTED.rawValue:
            MQTTError(.invalidMessage, MQTTLibrary.describe(rc))
        default: MQTTError(.library, MQTTLibrary.describe(rc))
        }
    }

    /// Subscribes, records the filter so it is re-subscribed after every reconnect, and
    /// waits for the SUBACK when connected.
    ///
    /// - Throws: `.subscriptionRefused` when the broker refuses the filter (for example by ACL).
    public func subscribe(_ filter: String, qos: MQTTQoS = .atLeastOnce) async throws {
        let granted: [Int32]? = try await withCheckedThrowingContinuation { waiter in
            let outcome: Result<[Int32]?, MQTTError>? = state.withLock { state in
                if state.finished { return .failure(MQTTError(.shutdown, "client is shut down")) }
                if !state.subscriptions.contains(where: { $0.filter == filter }) {
                    state.subscriptions.append((filter, qos))
                }
                // Not connected: the network thread subscribes at the next CONNACK.
                guard state.connection.isConnected else { return .success(nil) }
                var messageID: Int32 = 0
                let rc = mosquitto_subscribe_v5(handle.pointer, &messageID, filter, qos.rawValue, 0, nil)
                guard rc == MOSQ_ERR_SUCCESS.rawValue else { return .failure(Self.publishError(rc)) }
                networkWake?.signal()
                state.subscribeWaiters[messageID] = waiter
                return nil
            }
            if let outcome { waiter.resume(with: outcome) }
        }
        if let granted, granted.contains(where: { $0 >= 0x80 }) {
            state.withLock { $0.subscriptions.removeAll { $0.filter == filter } }
            let reason = String(cString: mosquitto_reason_string(granted.first ?? 0x80))
            throw MQTTError(.subscriptionRefused, "broker refused \(filter): \(reason)")
        }
    }

    /// Closes the socket without DISCONNECT, as a crash would; the broker then publishes
    /// the will. The network thread reconnects as after any connection loss.
    func abortConnectionForTesting() {
        _ = outpost_mosquitto_abort_socket(handle.pointer)
    }
}

extension DispatchTimeoutResult {
    fileprivate var isSuccess: Bool { self == .success }
}

/// Process-wide libmosquitto set-up, done once.
public enum MQTTLibrary {
    private static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()

    public static func ensureInitialized() {
        _ = initialized
    }

    static func describe(_ rc: Int32) -> String {
        if rc == MOSQ_ERR_ERRNO.rawValue { return String(cString: strerror(errno)) }
        return String(cString: mosquitto_strerror(rc))
    }
}
