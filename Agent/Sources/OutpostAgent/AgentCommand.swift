import ArgumentParser
import OutpostCommon

/// `outpost-agent`: the device-side process. Subcommands are added by the modules that own them.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outpost-agent",
        abstract: "Collects readings, keeps them safe on disk, and publishes them to the Outpost centre.",
        version: OutpostVersion.current,
        subcommands: [CheckConfig.self, Enroll.self, Stream.self]
    )

    public init() {}
}

extension AgentCommand {
    /// `outpost-agent check-config`: loads the configuration as `run` would and reports the first problem.
    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config", abstract: "Validate a configuration file and environment overrides.")

        @Option(help: "Configuration file.")
        var config: String = AgentConfiguration.defaultPath

        func run() throws {
            do {
                let loaded = try ConfigLoader().load(AgentConfiguration.self, path: config)
                print("ok: device \(loaded.deviceID), broker \(loaded.mqtt.host):\(loaded.mqtt.port)")
            } catch {
                print("error: \(error)")
                throw ExitCode(2)
            }
        }
    }
}
