/// The connection bookkeeping of an ``MQTTClient`` as a value type: what the network thread
/// reports goes in as an ``Event``, what it must do next comes out as ``Action``s.
///
/// No socket, clock or libmosquitto call lives here, so every reconnect decision (which
/// backoff, which event, whether to retry at all) is tested without a broker.
public struct MQTTConnectionState: Sendable {
    /// Why a connection attempt or an open connection ended, as the network thread saw it.
    public struct Failure: Sendable, Equatable {
        /// The TLS handshake failed (libmosquitto's `MOSQ_ERR_TLS`).
        public var tls: Bool
        /// libmosquitto's description of the failure.
        public var reason: String

        public init(tls: Bool, reason: String) {
            self.tls = tls
            self.reason = reason
        }
    }

    public enum Event: Sendable, Equatable {
        /// The network thread is about to open a socket: at start, and after each reconnect delay.
        case connectRequested
        /// The broker answered CONNECT; `reason` is its text for a non-zero `reasonCode`.
        case connack(reasonCode: Int32, reason: String, sessionPresent: Bool)
        /// libmosquitto reports the end of the connection (its disconnect callback).
        case disconnected(reasonCode: Int32)
        /// OpenSSL logged a TLS alert by which the broker refuses this client's certificate.
        case certificateRefused(alert: String)
        /// The connect call failed, or the socket of the current attempt or connection closed.
        case connectionEnded(Failure)
        /// The client shut down: nothing reconnects any more.
        case stop
    }

    public enum Action: Sendable, Equatable {
        /// Open a socket and send CONNECT.
        case connect
        /// Subscribe again to every recorded filter.
        case resubscribe
        /// Yield the event on the client's stream.
        case emit(MQTTEvent)
        /// Yield `.connectionFailed(error)` and log it with `reason` (libmosquitto's or OpenSSL's words).
        case fail(MQTTError, reason: String)
        /// Wait this many seconds (or until woken by shutdown), then request a connection.
        case reconnect(after: Double)
    }

    /// `host:port`, for error contexts.
    public let endpoint: String
    /// True while a connection is accepted by the broker.
    public private(set) var isConnected = false
    private var acceptedThisConnection = false
    private var stopped = false
    /// The certificate refusal seen during the current attempt, reported when it fails.
    private var certificateAlert: String?
    private var backoff: ReconnectBackoff
    private var refusedBackoff: ReconnectBackoff

    /// - Parameters:
    ///   - backoff: delays between attempts after an ordinary failure or a lost connection.
    ///   - refusedCertificateBackoff: delays while the broker refuses this client's certificate.
    public init(endpoint: String, backoff: ReconnectBackoff, refusedCertificateBackoff: ReconnectBackoff) {
        self.endpoint = endpoint
        self.backoff = backoff
        self.refusedBackoff = refusedCertificateBackoff
    }

    /// Steps the machine: records what `event` says and returns what to do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .connectRequested:
            guard !stopped else { return [] }
            acceptedThisConnection = false
            certificateAlert = nil
            return [.connect]
        case .connack(let reasonCode, let reason, let sessionPresent):
            guard reasonCode == 0 else {
                return [.fail(MQTTError(.refused, "broker refused CONNECT: \(reason)"), reason: reason)]
            }
            isConnected = true
            acceptedThisConnection = true
            backoff.reset()
            refusedBackoff.reset()
            return [.resubscribe, .emit(.connected(sessionPresent: sessionPresent))]
        case .disconnected(let reasonCode):
            guard isConnected else { return [] }
            isConnected = false
            return [.emit(.disconnected(reasonCode: reasonCode))]
        case .certificateRefused(let alert):
            certificateAlert = alert
            return []
        case .connectionEnded(let failure):
            guard !stopped else { return [] }
            if acceptedThisConnection {
                return [.reconnect(after: ordinaryDelay())]
            }
            if let alert = certificateAlert {
                let error = MQTTError(.certificateRefused, "the broker \(endpoint) refused this client's certificate: \(alert)")
                return [.fail(error, reason: alert), .reconnect(after: refusedBackoff.nextDelay())]
            }
            let error = MQTTError(failure.tls ? .tls : .connectionLost, "connect to \(endpoint): \(failure.reason)")
            return [.fail(error, reason: failure.reason), .reconnect(after: ordinaryDelay())]
        case .stop:
            stopped = true
            isConnected = false
            return []
        }
    }

    /// The next ordinary delay; a certificate refusal has ended, so its slow backoff starts over.
    private mutating func ordinaryDelay() -> Double {
        refusedBackoff.reset()
        return backoff.nextDelay()
    }
}
