import ArgumentParser
import Logging
import OutpostSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `outpost-agent`: the device-side process. Subcommands are added by the modules that own them.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outpost-agent",
        abstract: "Collects readings, keeps them safe on disk, and publishes them to the Outpost centre.",
        version: OutpostVersion.current,
        subcommands: [Run.self, Status.self, CheckConfig.self, Enroll.self, Renew.self, Stream.self]
    )

    public init() {}

    /// Parses the command line and runs the chosen subcommand asynchronously.
    ///
    /// `main.swift` calls this rather than `main()`: from top-level code the compiler picks
    /// ParsableCommand's synchronous `main()`, which refuses async subcommands.
    public static func launch() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

extension AgentConfiguration {
    /// Loads `path` (with environment overrides) for a subcommand; a bad file prints the
    /// error, which names the key, and exits 2.
    static func loadForCommand(path: String) throws -> AgentConfiguration {
        do {
            return try ConfigLoader().load(AgentConfiguration.self, path: path)
        } catch {
            print("error: \(error)")
            throw ExitCode(2)
        }
    }
}

extension AgentCommand {
    /// `outpost-agent check-config`: loads the configuration as `run` would and reports the first problem.
    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config", abstract: "Validate a configuration file and environment overrides.")

        @Option(help: "Configuration file.")
        var config: String = AgentConfiguration.defaultPath

        func run() throws {
            let loaded = try AgentConfiguration.loadForCommand(path: config)
            print("ok: device \(loaded.deviceID), broker \(loaded.mqtt.host):\(loaded.mqtt.port)")
        }
    }

    /// `outpost-agent run`: collects, buffers and publishes until SIGTERM (exit 0).
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run the agent until SIGTERM or SIGINT.")

        @Option(help: "Configuration file.")
        var config: String = AgentConfiguration.defaultPath

        func run() async throws {
            let loaded = try AgentConfiguration.loadForCommand(path: config)
            loaded.logging.bootstrap()
            let logger = Logger(label: "agent")
            let restartRequested: Bool
            do {
                let streams = StreamController(logger: Logger.child(logger, "agent.stream"))
                let renewer = CertificateRenewer(configuration: loaded, logger: Logger.child(logger, "agent.renewal"))
                let connection = RenewedConnection(configured: loaded.mqtt, stateDir: loaded.stateDir)
                let events = EventQueue(device: loaded.deviceID)
                let agent = try Agent(
                    configuration: loaded,
                    extraHandlers: [StartStreamCommand(controller: streams, sources: loaded.streams), StopStreamCommand(controller: streams)]
                        + (renewer.map { [RenewCertificateCommand(renewer: $0)] } ?? []),
                    extraServices: [StreamEventForwarder(controller: streams, events: events)]
                        + (renewer.map { [$0, connection.hook(renewer: $0), RenewalSignal(renewer: $0)] } ?? []),
                    events: events, brokerSettings: { connection.brokerSettings }, logger: logger)
                connection.attach(agent.publisher)
                logger.info("agent starting", metadata: [
                    "version": "\(OutpostVersion.current)", "sources": "\(loaded.sources.count)", "buffer": "\(agent.buffer.bufferID)",
                ])
                try await agent.run()
                restartRequested = agent.lifecycle.isRestartRequested
                logger.info("agent stopped", metadata: ["restart": "\(restartRequested)"])
            } catch {
                logger.critical("agent failed", metadata: ["error": "\(error)"])
                throw ExitCode(1)
            }
            // restart_agent: a clean stop with EX_TEMPFAIL, which the unit's RestartForceExitStatus restarts.
            if restartRequested { throw ExitCode(AgentLifecycle.restartExitCode) }
        }
    }

    /// `outpost-agent status`: what the running agent last reported, or the buffer file itself.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show connection, buffer depth, last ack, drops and certificate expiry.")

        @Option(help: "Configuration file.")
        var config: String = AgentConfiguration.defaultPath

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let loaded = try AgentConfiguration.loadForCommand(path: config)
            let report = await StatusReport.gather(stateDir: loaded.stateDir, certificateFile: loaded.mqtt.certFile, bufferPath: loaded.bufferPath)
            print(json ? report.json : report.text)
            if !report.running { throw ExitCode(3) }
        }
    }
}
