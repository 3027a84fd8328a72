import OutpostCommon

/// Something that measures: a meter, a command, a file, the host.
///
/// The scheduler owns timing, the buffer and error accounting; a source only collects.
/// A source may keep state between collections (an energy counter, the last CPU times).
public protocol ReadingSource: Sendable {
    /// Unique among the agent's sources.
    var name: String { get }
    /// One collection. Thrown errors are counted and logged; the next collection runs as usual.
    func collect() async throws(SourceError) -> SourceOutput
}

/// What one collection produced.
public struct SourceOutput: Sendable, Equatable {
    public var samples: [Sample]
    /// Lines or values that could not be read as a reading; counted, not fatal.
    public var rejected: Int

    public init(samples: [Sample], rejected: Int = 0) {
        self.samples = samples
        self.rejected = rejected
    }
}

/// A failed collection, with a stable code.
public struct SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A command ran past its timeout and was killed.
        public static let timeout = Code("timeout")
        /// A command printed more than its output cap and was killed.
        public static let outputTooLarge = Code("output_too_large")
        /// Output held no reading at all.
        public static let badOutput = Code("bad_output")
        /// A command exited non-zero.
        public static let commandFailed = Code("command_failed")
        /// A command could not be started.
        public static let spawnFailed = Code("spawn_failed")
        /// A file could not be read.
        public static let unreadable = Code("unreadable")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: SourceError, rhs: SourceError) -> Bool { lhs.code == rhs.code }
}

extension SourceConfiguration {
    /// The metric name with this source's prefix, if any.
    func metricName(_ metric: String) -> String {
        guard let prefix else { return metric }
        return "\(prefix).\(metric)"
    }
}
