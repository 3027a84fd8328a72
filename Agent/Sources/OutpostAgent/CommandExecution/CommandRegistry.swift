import Logging
import OutpostWire
import Synchronization

/// The open set of command handlers, by name, and the rules every command goes through:
/// an expired command is refused with `expired`, an unknown one with `unknown_command`,
/// neither is run, and every command gets exactly one result. A command id seen among
/// the last 256 gets its earlier result again without running twice (QoS 1 may deliver
/// a message more than once).
public final class CommandRegistry: Sendable {
    private struct State {
        var handlers: [String: any CommandHandler] = [:]
        var recent: [String: CommandResult] = [:]
        var recentOrder: [String] = []
    }

    /// How many recent results are remembered for duplicate deliveries.
    public static let recentCapacity = 256

    private let state = Mutex(State())

    public init(_ handlers: [any CommandHandler] = []) {
        handlers.forEach { register($0) }
    }

    /// Adds a handler, replacing any earlier one with the same name.
    public func register(_ handler: any CommandHandler) {
        precondition(Command.isValidName(handler.name), "command name \(handler.name) is not valid")
        state.withLock { $0.handlers[handler.name] = handler }
    }

    public var names: [String] { state.withLock { $0.handlers.keys.sorted() } }

    /// Runs `command` (or refuses it) and returns its result.
    public func execute(_ command: Command, nowMs: Int64, logger: Logger) async -> CommandResult {
        if let earlier = state.withLock({ $0.recent[command.id] }) {
            logger.info("duplicate command delivery; repeating its result", metadata: ["command": "\(command.id)"])
            return earlier
        }
        let result: CommandResult
        if command.isExpired(nowMs: nowMs) {
            result = .failure(id: command.id, code: CommandResult.Failure.expired,
                              message: "expired at \(command.expiresAt), received at \(nowMs)")
        } else if let handler = state.withLock({ $0.handlers[command.name] }) {
            do throws(CommandFailure) {
                let output = try await handler.handle(command)
                result = .success(id: command.id, output: output)
            } catch {
                result = .failure(id: command.id, code: error.code.rawValue, message: String(error.message.prefix(1_000)))
            }
        } else {
            result = .failure(id: command.id, code: CommandResult.Failure.unknownCommand, message: "no handler for \(command.name)")
        }
        logger.info("command handled", metadata: [
            "command": "\(command.id)", "name": "\(command.name)", "ok": "\(result.ok)", "code": "\(result.error?.code ?? "")",
        ])
        state.withLock { state in
            state.recent[command.id] = result
            state.recentOrder.append(command.id)
            if state.recentOrder.count > Self.recentCapacity {
                state.recent.removeValue(forKey: state.recentOrder.removeFirst())
            }
        }
        return result
    }
}
