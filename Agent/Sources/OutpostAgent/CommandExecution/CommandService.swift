#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostSupport
import OutpostWire
import ServiceLifecycle

/// Runs the centre's commands to this device: takes each session's `cmd` messages from the
/// ``Publisher``, runs them one at a time through the ``CommandRegistry`` and publishes each
/// `cmd/result` on the session the command came on.
///
/// - A message that does not decode is answered `invalid_args` when its id can be read.
/// - At most 64 commands wait; one more is answered `failed` ("too many commands waiting").
/// - When a session ends, its waiting commands are dropped and a running one is cancelled.
/// - After `restart_agent`, the result is published confirmed (at most 3 s) before the
///   ``AgentLifecycle`` ends the process.
public struct CommandService: Service {
    let registry: CommandRegistry
    let publisher: Publisher
    let lifecycle: AgentLifecycle
    let logger: Logger
    let codec = WireCodec()

    public init(registry: CommandRegistry, publisher: Publisher, lifecycle: AgentLifecycle, logger: Logger) {
        self.registry = registry
        self.publisher = publisher
        self.lifecycle = lifecycle
        var logger = logger
        logger[metadataKey: "device"] = "\(publisher.device)"
        logger[metadataKey: "component"] = "commands"
        self.logger = logger
    }

    /// Serves sessions until the publisher has ended its last one, then returns when told to
    /// stop. The service is placed before the publisher in the group, so it is told after the
    /// publisher has finished; returning before its turn (as soon as the sessions end, which can
    /// be seen before the publisher's own return) makes the group fail with
    /// `serviceFinishedUnexpectedly`, and the agent exit 1 on a clean SIGTERM.
    public func run() async {
        for await session in publisher.commandSessions {
            await serve(session)
        }
        try? await gracefulShutdown()
    }

    func serve(_ session: CommandSession) async {
        let (commands, queue) = AsyncStream<Command>.makeStream(bufferingPolicy: .bufferingOldest(64))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.execute(commands, session) }
            for await payload in session.messages {
                receive(payload, session, queue)
            }
            queue.finish()
            group.cancelAll()
        }
    }

    func receive(_ payload: [UInt8], _ session: CommandSession, _ queue: AsyncStream<Command>.Continuation) {
        let command: Command
        do {
            command = try codec.decode(Command.self, from: payload)
        } catch {
            session.refused()
            logger.warning("command refused", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
            if let id = Self.commandID(in: payload) {
                publish(.failure(id: id, code: CommandResult.Failure.invalidArgs, message: "\(error.code): \(error.context)"), session)
            }
            return
        }
        if case .dropped = queue.yield(command) {
            publish(.failure(id: command.id, code: CommandResult.Failure.failed, message: "too many commands waiting"), session)
        }
    }

    /// The id of a command that failed validation, so the sender still gets a result.
    static func commandID(in payload: [UInt8]) -> String? {
        guard payload.count <= WireLimits.standard.maxPayloadBytes,
              let object = try? JSONDecoder().decode(JSONValue.self, from: Data(payload)), let id = object["id"]?.stringValue, Command.isValidID(id)
        else { return nil }
        return id
    }

    func execute(_ commands: AsyncStream<Command>, _ session: CommandSession) async {
        for await command in commands {
            let result = await registry.execute(command, nowMs: WireClock.nowMs(), logger: logger)
            if lifecycle.isRestartRequested {
                if let payload = try? codec.encode(result) {
                    _ = await session.publishConfirmed(payload, timeout: .seconds(3))
                }
                await lifecycle.performPendingRestart()
            } else {
                publish(result, session)
            }
        }
    }

    func publish(_ result: CommandResult, _ session: CommandSession) {
        do {
            try session.publish(try codec.encode(result))
        } catch {
            logger.warning("command result not sent", metadata: ["command": "\(result.id)", "error": "\(error)"])
        }
    }
}
