/// Quality of service levels Outpost uses.
public enum MQTTQoS: Int32, Sendable {
    case atMostOnce = 0
    case atLeastOnce = 1
}

/// A message delivered to a subscription.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// What a client's event stream yields, in the order it happened.
public enum MQTTEvent: Sendable, Equatable {
    /// CONNACK accepted. Subscriptions were re-issued. `sessionPresent` says the broker kept the session.
    case connected(sessionPresent: Bool)
    /// A connection that had been accepted ended. `reasonCode` is the MQTT v5 reason (0 = normal).
    case disconnected(reasonCode: Int32)
    /// A connection attempt failed before it was accepted (TCP, TLS or CONNACK refusal).
    case connectionFailed(MQTTError)
    case message(MQTTMessage)
}
