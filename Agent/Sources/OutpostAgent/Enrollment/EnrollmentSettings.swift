import OutpostSupport

/// The `enrollment` section of `agent.json`: where the running agent renews its certificate.
public struct EnrollmentSettings: Codable, Sendable, Equatable {
    /// The config endpoint, e.g. `https://aggregator.example.net:8443`. Required in the section.
    public var serverUrl: String

    public init(serverUrl: String) { self.serverUrl = serverUrl }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverUrl = try container.value(.serverUrl, default: "", where: { $0.hasPrefix("https://") }, "must be an https:// URL")
    }
}
