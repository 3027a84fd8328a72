import ArgumentParser
import OutpostSupport
import OutpostWire

/// `outpost-aggregator`: the centre. Subcommands are added by the modules that own them.
public struct AggregatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outpost-aggregator",
        abstract: "Ingests readings into PostgreSQL exactly once, tracks devices, and runs the fleet's CA.",
        version: OutpostVersion.current,
        subcommands: [Serve.self, Migrate.self, CA.self, Token.self, Cert.self, BrokerConfig.self, User.self, Cmd.self, RenderACL.self, JanusConfig.self,
                      Backup.self, Restore.self]
    )

    public init() {}

    /// The process entry point. A plain `AggregatorCommand.main()` in top-level code
    /// resolves to `ParsableCommand`'s synchronous `main()`, which refuses the async
    /// subcommands; calling it through the `AsyncParsableCommand` constraint runs the async one.
    public static func start() async {
        await runAsync(Self.self)
    }

    private static func runAsync<Command: AsyncParsableCommand>(_ command: Command.Type) async {
        await command.main()
    }
}

extension AggregatorCommand {
    /// `outpost-aggregator acl`: prints the broker ACL for the given service identities.
    struct RenderACL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "acl", abstract: "Print mosquitto's acl_file for the fleet's topic policy.")

        @Option(name: .customLong("service"), help: "A service (aggregator) certificate CN, e.g. svc.aggregator.a1. Repeatable.")
        var services: [String] = []

        func validate() throws {
            for service in services where !BrokerACL.isServiceIdentity(service) {
                throw ValidationError("\(service) is not a service identity (svc.<name>)")
            }
        }

        func run() throws {
            print(BrokerACL(serviceIdentities: services).renderMosquitto(), terminator: "")
        }
    }
}
