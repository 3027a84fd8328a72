/// A configuration problem, naming the key (as written in the file, e.g. `mqtt.port`) and what is wrong.
///
/// Not a ``CodedError``: the key is a field of its own, which equality compares and the
/// description prints (`config key mqtt.port: ...`) instead of the code.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unreadableFile = Code("unreadable_file")
        public static let malformedFile = Code("malformed_file")
        public static let missingKey = Code("missing_key")
        public static let wrongType = Code("wrong_type")
        public static let invalidValue = Code("invalid_value")
        public static let unknownKey = Code("unknown_key")
    }

    public let code: Code
    /// Dotted key path, empty when the problem is the whole file.
    public let key: String
    public let problem: String

    public init(_ code: Code, key: String, _ problem: String) {
        self.code = code
        self.key = key
        self.problem = problem
    }

    public var description: String { key.isEmpty ? "config: \(problem)" : "config key \(key): \(problem)" }

    public static func == (lhs: ConfigError, rhs: ConfigError) -> Bool { lhs.code == rhs.code && lhs.key == rhs.key }
}
