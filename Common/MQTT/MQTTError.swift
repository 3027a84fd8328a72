import OutpostSupport

/// A failure of the MQTT client, with a stable code.
public typealias MQTTError = CodedError<MQTTErrorCode>

/// The stable codes of ``MQTTError``.
public enum MQTTErrorCode: String, ErrorCode {
    /// The configuration cannot work (bad host, unreadable certificate file, bad option).
    case invalidConfiguration = "invalid_configuration"
    /// TCP could not connect, or the connection was lost.
    case connectionLost = "connection_lost"
    /// The TLS handshake failed: unknown CA, refused client certificate, bad key.
    case tls
    /// The broker refused this client's certificate at the TLS handshake (revoked, expired,
    /// not issued by its CA): retrying with the same certificate cannot succeed.
    case certificateRefused = "certificate_refused"
    /// The broker answered CONNECT with a failure reason code.
    case refused
    /// The operation needs a connection and there is none.
    case notConnected = "not_connected"
    /// The broker refused a subscription (for example by ACL).
    case subscriptionRefused = "subscription_refused"
    /// The payload or topic was refused locally (too large, malformed topic).
    case invalidMessage = "invalid_message"
    /// The client is shutting down.
    case shutdown
    /// Any other libmosquitto error.
    case library
}
