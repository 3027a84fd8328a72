import OutpostSupport
import OutpostWire

/// Runs one named command. Register handlers with ``CommandRegistry``; the agent's
/// built-ins are `ping`, `set_interval`, `collect_now` and `restart_agent`, and other
/// modules (the RTP streamer's `start_stream` and `stop_stream`) add their own.
///
/// ```swift
/// struct StartStream: CommandHandler {
///     let name = "start_stream"
///     func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
///         guard let url = command.args["target"]?.stringValue else {
///             throw CommandFailure(.invalidArgs, "args.target is required")
///         }
///         ...
///         return ["ssrc": 1234]
///     }
/// }
/// ```
///
/// The registry has already refused expired and unknown commands; a handler checks its
/// own arguments. It should finish within seconds: commands run one at a time.
public protocol CommandHandler: Sendable {
    /// The command name it answers, `[a-z][a-z0-9_]{0,63}`.
    var name: String { get }
    /// Runs the command; the returned value is the result's `output`.
    func handle(_ command: Command) async throws(CommandFailure) -> JSONValue
}

/// Why a command failed; becomes the `error` of its `cmd/result`.
///
/// Not a `CodedError`: handlers define their own codes, so the set is open, not an enum.
public struct CommandFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// Handlers may define their own codes, `[a-z][a-z0-9_]*`.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unknownCommand = Code(CommandResult.Failure.unknownCommand)
        public static let expired = Code(CommandResult.Failure.expired)
        public static let invalidArgs = Code(CommandResult.Failure.invalidArgs)
        public static let failed = Code(CommandResult.Failure.failed)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
