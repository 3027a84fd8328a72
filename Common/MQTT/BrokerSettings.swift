import OutpostSupport

/// The `mqtt` section both sides share: where the broker is and which files prove who we are.
public struct BrokerSettings: Codable, Sendable, Equatable {
    /// Defaults to `127.0.0.1`.
    public var host: String
    /// Defaults to 8883, the MQTT-over-TLS port.
    public var port: Int
    /// PEM file of the fleet CA. Required.
    public var caFile: String
    /// PEM client certificate issued by the fleet CA. Required.
    public var certFile: String
    /// PEM private key of that certificate. Required; keep it 0600 or 0640.
    public var keyFile: String
    /// Seconds between keepalive pings. Defaults to 30.
    public var keepalive: Int
    /// Check the broker certificate's host name. Defaults to true.
    public var verifyHostname: Bool

    public init(host: String = "127.0.0.1", port: Int = 8883, caFile: String, certFile: String, keyFile: String,
                keepalive: Int = 30, verifyHostname: Bool = true) {
        self.host = host
        self.port = port
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.keepalive = keepalive
        self.verifyHostname = verifyHostname
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.value(.host, default: "127.0.0.1", where: { !$0.isEmpty }, "must not be empty")
        port = try container.value(.port, default: 8883, where: { (1...65535).contains($0) }, "must be a port number (1-65535)")
        caFile = try container.decode(String.self, forKey: .caFile)
        certFile = try container.decode(String.self, forKey: .certFile)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        keepalive = try container.value(.keepalive, default: 30, where: { (5...3600).contains($0) }, "must be 5-3600 seconds")
        verifyHostname = try container.value(.verifyHostname, default: true)
    }

    /// A client configuration for these settings.
    public func clientConfiguration(clientID: String, will: MQTTConfiguration.Will? = nil, sessionExpiry: UInt32 = 3600)
        -> MQTTConfiguration
    {
        MQTTConfiguration(
            host: host, port: port, clientID: clientID,
            tls: .init(caFile: caFile, certificateFile: certFile, keyFile: keyFile, verifyHostname: verifyHostname),
            will: will, keepAlive: keepalive, sessionExpiry: sessionExpiry)
    }
}
