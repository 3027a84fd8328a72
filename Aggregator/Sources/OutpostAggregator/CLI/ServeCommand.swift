import ArgumentParser
import Logging
import OutpostSupport

extension AggregatorCommand {
    /// `outpost-aggregator serve`: runs everything until SIGTERM or SIGINT, then drains and stops.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run ingest, device state, command dispatch and the HTTPS server until SIGTERM.")

        @Option(help: "Configuration file.")
        var config: String = AggregatorConfiguration.defaultPath

        func run() async throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            configuration.logging.bootstrap()
            let logger = Logger(label: "aggregator")
            let aggregator = try buildAggregator(configuration: configuration, logger: logger)
            logger.info("starting", metadata: [
                "instance": "\(configuration.instanceID)", "version": "\(OutpostVersion.current)",
                "https": "\(configuration.http.host):\(configuration.http.port)",
            ])
            try await aggregator.serviceGroup().run()
        }
    }
}
