import OutpostSupport

/// The `api` section: limits and lifetimes of the admin API. Every field has a default.
public struct APISettings: Codable, Sendable, Equatable {
    /// Access-token lifetime in seconds. Defaults to 900 (15 minutes).
    public var accessTokenSeconds: Int
    /// Refresh-token lifetime in seconds (each rotation starts a new one). Defaults to 14 days.
    public var refreshTokenSeconds: Int
    /// bcrypt cost for new passwords. Defaults to 12.
    public var bcryptCost: Int
    /// Largest request body in bytes; bigger answers 413. Defaults to 65536.
    public var maxBodyBytes: Int
    /// Login attempts per client IP per minute. Defaults to 20.
    public var loginPerIpPerMinute: Int
    /// Login attempts per username per minute. Defaults to 5.
    public var loginPerUserPerMinute: Int
    /// Requests per principal (or anonymous IP) per minute. Defaults to 1200, burst included.
    public var requestsPerMinute: Int
    /// Origins allowed by CORS. Defaults to none: CORS is off.
    public var corsAllowedOrigins: [String]

    public init(accessTokenSeconds: Int = 900, refreshTokenSeconds: Int = 14 * 86_400, bcryptCost: Int = 12,
                maxBodyBytes: Int = 65_536, loginPerIpPerMinute: Int = 20, loginPerUserPerMinute: Int = 5,
                requestsPerMinute: Int = 1200, corsAllowedOrigins: [String] = []) {
        self.accessTokenSeconds = accessTokenSeconds
        self.refreshTokenSeconds = refreshTokenSeconds
        self.bcryptCost = bcryptCost
        self.maxBodyBytes = maxBodyBytes
        self.loginPerIpPerMinute = loginPerIpPerMinute
        self.loginPerUserPerMinute = loginPerUserPerMinute
        self.requestsPerMinute = requestsPerMinute
        self.corsAllowedOrigins = corsAllowedOrigins
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessTokenSeconds = try container.value(.accessTokenSeconds, default: 900, where: { (60...3600).contains($0) }, "must be 60-3600")
        refreshTokenSeconds = try container.value(.refreshTokenSeconds, default: 14 * 86_400,
                                                  where: { (3600...90 * 86_400).contains($0) }, "must be 1 hour to 90 days")
        bcryptCost = try container.value(.bcryptCost, default: 12, where: { (4...31).contains($0) }, "must be 4-31")
        maxBodyBytes = try container.value(.maxBodyBytes, default: 65_536, where: { (1024...16 << 20).contains($0) }, "must be 1 KiB to 16 MiB")
        loginPerIpPerMinute = try container.value(.loginPerIpPerMinute, default: 20, where: { $0 >= 1 }, "must be at least 1")
        loginPerUserPerMinute = try container.value(.loginPerUserPerMinute, default: 5, where: { $0 >= 1 }, "must be at least 1")
        requestsPerMinute = try container.value(.requestsPerMinute, default: 1200, where: { $0 >= 1 }, "must be at least 1")
        corsAllowedOrigins = try container.value(.corsAllowedOrigins, default: [])
    }
}
