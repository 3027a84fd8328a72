/// Why a command could not be queued or found, with a stable code.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidName = Code("invalid_command_name")
        public static let invalidArgs = Code("invalid_args")
        public static let invalidTTL = Code("invalid_ttl")
        public static let unknownDevice = Code("unknown_device")
        public static let revokedDevice = Code("revoked_device")
        public static let notFound = Code("not_found")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: CommandError, rhs: CommandError) -> Bool { lhs.code == rhs.code }
}
