/// A simulator failure with a stable code; the message names the device or file, never a token.
public struct SimulationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// The process exit status for this failure.
        public let exitStatus: Int32
        private init(_ rawValue: String, _ exitStatus: Int32) {
            self.rawValue = rawValue
            self.exitStatus = exitStatus
        }
        public var description: String { rawValue }

        /// A command-line value is out of range or unreadable.
        public static let invalidArgument = Code("invalid_argument", 2)
        /// The token file is missing, unreadable, or holds a line that is not a token.
        public static let invalidTokenFile = Code("invalid_token_file", 2)
        /// A device could not be enrolled (the underlying enrollment error is in the message).
        public static let enrollmentFailed = Code("enrollment_failed", 1)
        /// A device's directory holds no usable configuration or buffer.
        public static let deviceFailed = Code("device_failed", 1)
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: SimulationError, rhs: SimulationError) -> Bool { lhs.code == rhs.code }
}
