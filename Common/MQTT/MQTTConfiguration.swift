/// Everything an ``MQTTClient`` needs to reach a broker.
public struct MQTTConfiguration: Sendable {
    public struct TLS: Sendable {
        /// PEM file of the CA that signed the broker's certificate.
        public var caFile: String
        /// PEM client certificate and its key. Outpost brokers refuse clients without one.
        public var certificateFile: String?
        public var keyFile: String?
        /// Check the broker certificate's host name against `host`.
        public var verifyHostname: Bool

        public init(caFile: String, certificateFile: String?, keyFile: String?, verifyHostname: Bool = true) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.verifyHostname = verifyHostname
        }
    }

    /// A message the broker publishes for the client when its connection dies without DISCONNECT.
    public struct Will: Sendable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: MQTTQoS
        public var retain: Bool

        public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    public var host: String
    public var port: Int
    /// Unique per process: two clients with one id kick each other off the broker.
    public var clientID: String
    /// nil means plain TCP, which only tests of the refusal path use.
    public var tls: TLS?
    public var will: Will?
    /// Seconds between keepalive pings. Defaults to 30.
    public var keepAlive: Int
    /// MQTT v5 session expiry in seconds. 0 starts clean and forgets the session at disconnect;
    /// anything else keeps queued QoS 1 messages for the client across reconnects. Defaults to 1 hour.
    public var sessionExpiry: UInt32
    /// How many unacknowledged QoS 1 messages the broker may push at once (MQTT v5 receive maximum). Defaults to 100.
    public var receiveMaximum: UInt16
    /// Incoming messages buffered before the network thread waits for the consumer:
    /// back-pressure instead of unbounded memory. Defaults to 1,024.
    public var incomingBufferLimit: Int
    public var backoff: ReconnectBackoff
    /// Used instead of ``backoff`` while the broker refuses this client's certificate
    /// (revoked, expired, unknown): retrying every few seconds cannot help, so it waits
    /// minutes. Defaults to 1 to 10 minutes.
    public var refusedCertificateBackoff: ReconnectBackoff

    public init(
        host: String, port: Int, clientID: String, tls: TLS?, will: Will? = nil, keepAlive: Int = 30,
        sessionExpiry: UInt32 = 3600, receiveMaximum: UInt16 = 100, incomingBufferLimit: Int = 1024,
        backoff: ReconnectBackoff = ReconnectBackoff(),
        refusedCertificateBackoff: ReconnectBackoff = ReconnectBackoff(initial: 120, maximum: 600)
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.tls = tls
        self.will = will
        self.keepAlive = keepAlive
        self.sessionExpiry = sessionExpiry
        self.receiveMaximum = receiveMaximum
        self.incomingBufferLimit = incomingBufferLimit
        self.backoff = backoff
        self.refusedCertificateBackoff = refusedCertificateBackoff
    }
}
