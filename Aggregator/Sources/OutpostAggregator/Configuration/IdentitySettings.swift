import OutpostSupport
import OutpostWire
import Foundation

/// The `identity` section: the CA's certificates, enrollment tokens, and how the broker learns of revocations.
public struct IdentitySettings: Codable, Sendable, Equatable {
    /// Lifetime of device certificates in seconds. Defaults to 30 days (2,592,000).
    public var certificateLifetimeSeconds: Int
    /// Lifetime of an enrollment token in seconds, when `token create` names none. Defaults to 24 hours.
    public var tokenTtlSeconds: Int
    /// How long a CRL is valid (its nextUpdate). Regenerated on every revocation, by
    /// `cert crl`, and by `serve` once less than half of it is left; the broker refuses
    /// everyone once it lapses. Defaults to 365 days.
    public var crlValiditySeconds: Int
    /// How often `serve` checks whether the CRL is due for re-issue. Defaults to 3,600 s.
    public var crlCheckIntervalSeconds: Int
    /// Broker address given to enrolling devices. Defaults to `mqtt.host` / `mqtt.port`.
    public var deviceBrokerHost: String?
    public var deviceBrokerPort: Int?
    /// Keepalive given to enrolling devices. Defaults to 30 seconds.
    public var deviceKeepalive: Int
    /// The config endpoint's URL as devices reach it, printed by `token create`.
    /// Defaults to `https://{http.host}:{http.port}`.
    public var enrollUrl: String?
    /// Where `broker-config` writes and `cert revoke` puts the CRL. Defaults to `{state_dir}/broker`.
    public var brokerDir: String?
    /// mosquitto's pid file, for the reload signal. Defaults to `/run/mosquitto/mosquitto.pid`.
    public var brokerPidFile: String
    /// How the broker learns of a new CRL: `signal` (SIGHUP to the pid in `broker_pid_file`) or
    /// `crl_watch` (the aggregator only writes `crl.pem`; something watching it reloads the broker,
    /// e.g. the packaged `outpost-aggregator-broker-reload.path`). Defaults to `signal`.
    public var brokerReload: BrokerReloadMode
    /// Config endpoint requests (`enroll`, `renew`, `ca`) per source address per minute, all
    /// of them available at once; more answer 429 with `Retry-After`. Defaults to 600.
    public var configRequestsPerMinute: Int

    public init(certificateLifetimeSeconds: Int = 30 * 86_400, tokenTtlSeconds: Int = 86_400, crlValiditySeconds: Int = 365 * 86_400,
                deviceBrokerHost: String? = nil, deviceBrokerPort: Int? = nil, deviceKeepalive: Int = 30, enrollUrl: String? = nil,
                brokerDir: String? = nil, brokerPidFile: String = "/run/mosquitto/mosquitto.pid", brokerReload: BrokerReloadMode = .signal,
                crlCheckIntervalSeconds: Int = 3_600, configRequestsPerMinute: Int = 600) {
        self.certificateLifetimeSeconds = certificateLifetimeSeconds
        self.tokenTtlSeconds = tokenTtlSeconds
        self.crlValiditySeconds = crlValiditySeconds
        self.crlCheckIntervalSeconds = crlCheckIntervalSeconds
        self.deviceBrokerHost = deviceBrokerHost
        self.deviceBrokerPort = deviceBrokerPort
        self.deviceKeepalive = deviceKeepalive
        self.enrollUrl = enrollUrl
        self.brokerDir = brokerDir
        self.brokerPidFile = brokerPidFile
        self.brokerReload = brokerReload
        self.configRequestsPerMinute = configRequestsPerMinute
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        certificateLifetimeSeconds = try container.value(.certificateLifetimeSeconds, default: 30 * 86_400,
                                                         where: { (30...(825 * 86_400)).contains($0) }, "must be 30 s to 825 days")
        tokenTtlSeconds = try container.value(.tokenTtlSeconds, default: 86_400, where: { (1...(30 * 86_400)).contains($0) },
                                              "must be 1 s to 30 days")
        crlValiditySeconds = try container.value(.crlValiditySeconds, default: 365 * 86_400,
                                                 where: { (3600...(3650 * 86_400)).contains($0) }, "must be 1 hour to 10 years")
        crlCheckIntervalSeconds = try container.value(.crlCheckIntervalSeconds, default: 3_600, where: { (10...86_400).contains($0) },
                                                      "must be 10 s to 1 day")
        deviceBrokerHost = try container.decodeIfPresent(String.self, forKey: .deviceBrokerHost)
        deviceBrokerPort = try container.decodeIfPresent(Int.self, forKey: .deviceBrokerPort)
        deviceKeepalive = try container.value(.deviceKeepalive, default: 30, where: { (5...3600).contains($0) }, "must be 5-3600 seconds")
        enrollUrl = try container.decodeIfPresent(String.self, forKey: .enrollUrl)
        brokerDir = try container.decodeIfPresent(String.self, forKey: .brokerDir)
        brokerPidFile = try container.value(.brokerPidFile, default: "/run/mosquitto/mosquitto.pid")
        brokerReload = try container.value(.brokerReload, default: .signal)
        configRequestsPerMinute = try container.value(.configRequestsPerMinute, default: 600, where: { (1...1_000_000).contains($0) },
                                                      "must be 1 to 1,000,000")
    }
}

extension AggregatorConfiguration {
    /// `{state_dir}/ca`: the CA's key and certificate.
    public var caDirectory: String { (stateDir as NSString).appendingPathComponent("ca") }
    /// `identity.broker_dir`, or `{state_dir}/broker`.
    public var brokerDirectory: String { identity.brokerDir ?? (stateDir as NSString).appendingPathComponent("broker") }
    /// The CRL mosquitto reads (`crlfile`); with a `brokers` list, the first broker's (each has its own copy).
    public var crlFile: String { resolvedBrokers[0].crlFile }
    public var enrollURL: String { identity.enrollUrl ?? "https://\(http.host):\(http.port)" }
    public var deviceBroker: CertificateResponse.Broker {
        .init(host: identity.deviceBrokerHost ?? mqtt.host, port: identity.deviceBrokerPort ?? mqtt.port)
    }
}

/// Who makes the broker reload after the CRL is written (`identity.broker_reload`).
public enum BrokerReloadMode: String, Codable, Sendable, Equatable {
    /// SIGHUP to the pid in the pid file: the aggregator may signal mosquitto (same user, or root).
    case signal
    /// Nothing here: writing `crl.pem` is the trigger. A system mosquitto runs as its own user,
    /// which a hardened aggregator (`NoNewPrivileges`) cannot signal; the aggregator package's
    /// `outpost-aggregator-broker-reload.path` reloads it when the file changes.
    case crlWatch = "crl_watch"

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let mode = BrokerReloadMode(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be signal or crl_watch, not \(text)")
        }
        self = mode
    }
}
