import ArgumentParser
import OutpostSupport

extension AggregatorCommand {
    /// `outpost-aggregator janus-config`: writes Janus's configuration for live view into
    /// `live.janus_config_dir` (or `--dir`), with a fresh API secret and admin key.
    struct JanusConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "janus-config",
            abstract: "Write Janus's configuration (streaming plugin, HTTP API on one address) for live view.")

        @Option(help: "Configuration file.")
        var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "Directory to write to; defaults to live.janus_config_dir.")
        var dir: String?
        @Option(help: "Janus's module folder (plugins/, transports/).")
        var janusLibraryDir: String = JanusConfigGenerator.defaultLibraryDir()

        func run() throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            let directory = dir ?? configuration.live.janusConfigDir
            _ = try JanusConfigGenerator(settings: configuration.live, libraryDir: janusLibraryDir).write(to: directory)
            print("wrote \(directory); start Janus with: janus -F \(directory) -C \(directory)/janus.jcfg")
        }
    }
}
