import OutpostSupport

/// A command's outcome, on `outpost/v1/{device}/cmd/result`.
///
/// Exactly one of `output` (when `ok`) or `error` (when not) is meaningful.
public struct CommandResult: WireMessage {
    public static let schemaVersion = 1

    /// Why a command failed: a stable code plus a human message.
    public struct Failure: Hashable, Sendable, Codable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }

        /// Codes the agent itself produces; handlers may add their own.
        public static let unknownCommand = "unknown_command"
        public static let expired = "expired"
        public static let invalidArgs = "invalid_args"
        public static let failed = "failed"
    }

    public var v: Int
    public var id: String
    public var ok: Bool
    public var output: JSONValue?
    public var error: Failure?

    public static func success(id: String, output: JSONValue = .null) -> CommandResult {
        CommandResult(v: schemaVersion, id: id, ok: true, output: output, error: nil)
    }

    public static func failure(id: String, code: String, message: String) -> CommandResult {
        CommandResult(v: schemaVersion, id: id, ok: false, output: nil, error: Failure(code: code, message: message))
    }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard Command.isValidID(id) else { throw WireError(.invalidCommandID, "command id must match [A-Za-z0-9_-]{1,64}") }
        if ok {
            guard error == nil else { throw WireError(.inconsistentResult, "a successful result carries no error") }
        } else {
            guard let error else { throw WireError(.inconsistentResult, "a failed result must carry an error") }
            guard error.code.utf8.count <= 64, error.message.utf8.count <= limits.maxTextLength else {
                throw WireError(.fieldTooLong, "error code or message is too long")
            }
        }
        if let output {
            guard output.depth <= limits.maxNestingDepth else { throw WireError(.nestingTooDeep, "output nests too deep") }
            guard output.isFinite else { throw WireError(.nonFiniteValue, "output holds a non-finite number") }
        }
    }
}
