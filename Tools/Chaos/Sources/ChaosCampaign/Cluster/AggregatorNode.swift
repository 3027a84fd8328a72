import LocalServers

/// One `outpost-aggregator serve` process: its instance id, configuration and HTTPS port.
final class AggregatorNode {
    let instance: String
    let configPath: String
    let httpPort: Int
    var process: ServerProcess?

    init(instance: String, configPath: String, httpPort: Int) {
        self.instance = instance
        self.configPath = configPath
        self.httpPort = httpPort
    }

    var name: String { "aggregator \(instance)" }
}
