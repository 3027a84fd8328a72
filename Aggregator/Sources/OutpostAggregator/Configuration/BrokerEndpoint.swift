import Foundation
import OutpostMQTT
import OutpostSupport
import OutpostWire

/// One entry of the `brokers` list: an independent mosquitto (no clustering between them).
///
/// Every aggregator connects to every broker with `mqtt`'s CA, client certificate, key,
/// keepalive and host-name check; devices are spread over the brokers by ``BrokerAssignment``.
/// Without a `brokers` list the aggregator has one broker, `default`, made of `mqtt.host`/`port`,
/// `identity.device_broker_host`/`port`, `identity.broker_dir` and `identity.broker_pid_file`,
/// exactly as before the list existed.
public struct BrokerEndpoint: Codable, Sendable, Equatable {
    /// The broker's stable name, `[a-z0-9][a-z0-9-]{0,31}`: the assignment hashes it, so
    /// renaming a broker moves its devices; changing its address does not. Required.
    public var name: String
    /// Where the aggregators reach it. Required.
    public var host: String
    /// Defaults to 8883.
    public var port: Int
    /// The address given to devices at enrollment and renewal. Defaults to `host`.
    public var deviceHost: String?
    /// Defaults to `port`.
    public var devicePort: Int?
    /// Where `cert revoke` writes this broker's `crl.pem` (and `broker-config --broker` its
    /// files). Defaults to `{state_dir}/broker-{name}`.
    public var brokerDir: String?
    /// This broker's pid file, for `identity.broker_reload: signal`. Defaults to `identity.broker_pid_file`.
    public var pidFile: String?

    public init(name: String, host: String, port: Int = 8883, deviceHost: String? = nil, devicePort: Int? = nil, brokerDir: String? = nil,
                pidFile: String? = nil) {
        self.name = name
        self.host = host
        self.port = port
        self.deviceHost = deviceHost
        self.devicePort = devicePort
        self.brokerDir = brokerDir
        self.pidFile = pidFile
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.value(.name, default: "", where: BrokerAssignment.isValidName, "must match [a-z0-9][a-z0-9-]{0,31}")
        host = try container.value(.host, default: "", where: { !$0.isEmpty }, "must not be empty")
        port = try container.value(.port, default: 8883, where: { (1...65535).contains($0) }, "must be a port number (1-65535)")
        deviceHost = try container.decodeIfPresent(String.self, forKey: .deviceHost)
        devicePort = try container.decodeIfPresent(Int.self, forKey: .devicePort)
        if let devicePort, !(1...65535).contains(devicePort) {
            throw ConfigError(.invalidValue, key: "brokers.device_port", "must be a port number (1-65535)")
        }
        brokerDir = try container.decodeIfPresent(String.self, forKey: .brokerDir)
        pidFile = try container.decodeIfPresent(String.self, forKey: .pidFile)
    }
}

/// A configured broker with every default filled in.
public struct ResolvedBroker: Sendable, Equatable {
    public var name: String
    /// How this aggregator connects: `mqtt`'s files with this broker's host and port.
    public var settings: BrokerSettings
    /// What devices assigned here are told.
    public var deviceAddress: CertificateResponse.Broker
    /// Where its `crl.pem` is written.
    public var directory: String
    public var pidFile: String

    public var crlFile: String { (directory as NSString).appendingPathComponent("crl.pem") }
}

extension AggregatorConfiguration {
    /// The name of the one broker of a configuration without a `brokers` list.
    public static let defaultBrokerName = "default"

    /// Every broker, defaults resolved, in configuration order.
    public var resolvedBrokers: [ResolvedBroker] {
        guard !brokers.isEmpty else {
            return [ResolvedBroker(name: Self.defaultBrokerName, settings: mqtt, deviceAddress: deviceBroker, directory: brokerDirectory,
                                   pidFile: identity.brokerPidFile)]
        }
        return brokers.map { endpoint in
            var settings = mqtt
            settings.host = endpoint.host
            settings.port = endpoint.port
            return ResolvedBroker(
                name: endpoint.name, settings: settings,
                deviceAddress: .init(host: endpoint.deviceHost ?? endpoint.host, port: endpoint.devicePort ?? endpoint.port),
                directory: endpoint.brokerDir ?? (stateDir as NSString).appendingPathComponent("broker-\(endpoint.name)"),
                pidFile: endpoint.pidFile ?? identity.brokerPidFile)
        }
    }

    /// Refuses brokers that share a pid file (one broker would be signalled twice and another
    /// never reloaded, so its CRL would not be enforced) or a broker directory (one `crl.pem`,
    /// certificates and `mosquitto.conf` for two brokers). In a `brokers` list every broker
    /// but one therefore needs its own `pid_file` (the default is `identity.broker_pid_file`).
    static func checkDistinct(_ brokers: [ResolvedBroker]) throws(ConfigError) {
        let checks: [(key: String, path: (ResolvedBroker) -> String)] = [("brokers.pid_file", \.pidFile), ("brokers.broker_dir", \.directory)]
        for check in checks {
            var seen: [String: String] = [:]
            for broker in brokers {
                let path = (check.path(broker) as NSString).standardizingPath
                if let other = seen[path] {
                    throw ConfigError(.invalidValue, key: check.key, "brokers \(other) and \(broker.name) both use \(path); give each its own")
                }
                seen[path] = broker.name
            }
        }
    }

    /// The assignment over ``resolvedBrokers``' names, without overrides.
    public var brokerAssignment: BrokerAssignment { BrokerAssignment(brokers: resolvedBrokers.map(\.name)) }
}
