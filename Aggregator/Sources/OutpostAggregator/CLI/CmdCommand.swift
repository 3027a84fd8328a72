#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import Logging
import OutpostSupport
import OutpostWire

extension AggregatorCommand {
    /// `outpost-aggregator cmd`: device commands from the shell.
    struct Cmd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cmd", abstract: "Send device commands and show their state.", subcommands: [Send.self, Show.self])
    }
}

extension AggregatorCommand.Cmd {
    /// `cmd send --device ID --name NAME [--args JSON] [--ttl SECONDS] [--wait]`.
    ///
    /// Stores the command as `queued` (with an audit entry); a running aggregator
    /// publishes it and moves it on. Prints the stored command as JSON, or with
    /// `--wait`, the command once it reached a final state.
    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a command for a device.")

        @Option(help: "Configuration file (for the database settings).")
        var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "Device id.")
        var device: String
        @Option(help: "Command name, e.g. ping, set_interval, collect_now.")
        var name: String
        @Option(help: "Arguments as a JSON object.")
        var args: String = "{}"
        @Option(help: "Seconds before the command expires. Defaults to commands.default_ttl_seconds.")
        var ttl: Int?
        @Flag(help: "Wait until the command succeeded, failed or expired, and exit non-zero unless it succeeded.")
        var wait = false

        func validate() throws {
            guard DeviceID(device) != nil else { throw ValidationError("--device must match [a-z0-9][a-z0-9-]{0,62}") }
            guard Command.isValidName(name) else { throw ValidationError("--name must match [a-z][a-z0-9_]{0,63}") }
            guard case .object? = JSONText.decode(args) else { throw ValidationError("--args must be a JSON object") }
            if let ttl, !(1...2_592_000).contains(ttl) { throw ValidationError("--ttl must be 1-2592000 seconds") }
        }

        func run() async throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            configuration.logging.bootstrap()
            let logger = Logger(label: "aggregator.cmd")
            let database = try Database(settings: configuration.postgres, logger: logger)
            let store = CommandsStore(client: database.client, logger: logger)
            let actor = "cli:\(ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "unknown")"
            let final: CommandRecord = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                var record = try await store.enqueue(
                    device: DeviceID(device)!, name: name, args: JSONText.decode(args) ?? [:],
                    ttlSeconds: ttl ?? configuration.commands.defaultTtlSeconds, actor: actor)
                if wait {
                    let graceMs = Int64(configuration.commands.resultGraceSeconds + 5) * 1_000
                    while !record.status.isFinal && WireClock.nowMs() < record.expiresAt + graceMs {
                        try await Task.sleep(for: .milliseconds(200))
                        record = try await store.find(id: record.id) ?? record
                    }
                }
                return record
            }
            print(try Self.json(final))
            if wait && final.status != .succeeded { throw ExitCode(2) }
        }

        /// The record as JSON, with any SRTP key in its arguments redacted.
        static func json(_ record: CommandRecord) throws -> String {
            var record = record
            record.args = SRTPKeyText.redacted(record.args)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(record), as: UTF8.self)
        }
    }

    /// `cmd show ID`: prints a command's stored state as JSON.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a command's state.")

        @Option(help: "Configuration file (for the database settings).")
        var config: String = AggregatorConfiguration.defaultPath
        @Argument(help: "Command id.")
        var id: String

        func run() async throws {
            let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
            configuration.logging.bootstrap()
            let logger = Logger(label: "aggregator.cmd")
            let database = try Database(settings: configuration.postgres, logger: logger)
            let store = CommandsStore(client: database.client, logger: logger)
            let record = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                return try await store.find(id: id)
            }
            guard let record else { throw CommandError(.notFound, "no command \(id)") }
            print(try Send.json(record))
        }
    }
}
