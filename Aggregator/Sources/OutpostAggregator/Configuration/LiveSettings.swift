import OutpostSupport

/// The `live` section: live view through a Janus gateway (docs/streaming.md, "Live view").
/// Without `janusUrl` live view is off and its routes answer 503 `live_unavailable`.
public struct LiveSettings: Codable, Sendable, Equatable {
    /// Janus's HTTP API, e.g. `http://127.0.0.1:8088/janus`. Nil turns live view off.
    public var janusUrl: String?
    /// Where `outpost-aggregator janus-config` writes Janus's configuration and the shared
    /// secrets (`outpost-secrets.json`, mode 0600) the aggregator reads at start.
    public var janusConfigDir: String
    /// The Janus host's address the cameras send to (the mountpoint's interface and the
    /// agent's `host`). Never a wildcard: Janus would latch RTCP onto itself.
    public var mediaAddress: String
    /// The port Janus's HTTP transport listens on (127.0.0.1 unless `httpAddress` says otherwise).
    public var httpPort: Int
    public var httpAddress: String
    /// UDP ports Janus picks mountpoint and WebRTC ports from, `low-high`.
    public var rtpPortRange: String
    /// The interface whose address Janus offers to browsers (`nat.ice_enforce_list`); nil: all but loopback.
    public var iceInterface: String?
    /// A mountpoint with no viewer, or no media from the camera, for this long is torn down.
    public var idleTimeoutSeconds: Int
    /// How often mountpoints are checked for viewers, media and the device's presence.
    public var checkIntervalSeconds: Int
    /// The agent's stream source used when the request names none.
    public var defaultSource: String

    public init(janusUrl: String? = nil, janusConfigDir: String = "/var/lib/outpost-aggregator/janus", mediaAddress: String = "127.0.0.1",
                httpPort: Int = 8088, httpAddress: String = "127.0.0.1", rtpPortRange: String = "20000-40000", iceInterface: String? = nil,
                idleTimeoutSeconds: Int = 60, checkIntervalSeconds: Int = 5, defaultSource: String = "camera") {
        self.janusUrl = janusUrl
        self.janusConfigDir = janusConfigDir
        self.mediaAddress = mediaAddress
        self.httpPort = httpPort
        self.httpAddress = httpAddress
        self.rtpPortRange = rtpPortRange
        self.iceInterface = iceInterface
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.checkIntervalSeconds = checkIntervalSeconds
        self.defaultSource = defaultSource
    }

    static func isWildcard(_ address: String) -> Bool { ["0.0.0.0", "::", "[::]", ""].contains(address) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = LiveSettings()
        janusUrl = try container.value(.janusUrl, default: nil, where: { url in url.map { $0.hasPrefix("http://") || $0.hasPrefix("https://") } ?? true },
                                       "must be an http:// or https:// URL")
        janusConfigDir = try container.value(.janusConfigDir, default: defaults.janusConfigDir)
        mediaAddress = try container.value(.mediaAddress, default: defaults.mediaAddress, where: { !Self.isWildcard($0) },
                                           "must be the Janus host's routed address, never a wildcard")
        httpPort = try container.value(.httpPort, default: defaults.httpPort, where: { (1...65_535).contains($0) }, "must be 1-65535")
        httpAddress = try container.value(.httpAddress, default: defaults.httpAddress, where: { !Self.isWildcard($0) },
                                          "must be one address, never a wildcard")
        rtpPortRange = try container.value(.rtpPortRange, default: defaults.rtpPortRange, where: { PortRange.parse($0) != nil },
                                           "must be low-high within 1024-65535")
        iceInterface = try container.value(.iceInterface, default: nil)
        idleTimeoutSeconds = try container.value(.idleTimeoutSeconds, default: defaults.idleTimeoutSeconds,
                                                 where: { (5...86_400).contains($0) }, "must be 5-86400 seconds")
        checkIntervalSeconds = try container.value(.checkIntervalSeconds, default: defaults.checkIntervalSeconds,
                                                   where: { (1...600).contains($0) }, "must be 1-600 seconds")
        defaultSource = try container.value(.defaultSource, default: defaults.defaultSource)
    }
}
