import OutpostSupport

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
public typealias SourceError = CodedError<SourceErrorCode>

/// The stable codes of ``SourceError``.
public enum SourceErrorCode: String, ErrorCode {
    /// A command ran past its timeout and was killed.
    case timeout
    /// A command printed more than its output cap and was killed.
    case outputTooLarge = "output_too_large"
    /// Output held no reading at all.
    case badOutput = "bad_output"
    /// A command exited non-zero.
    case commandFailed = "command_failed"
    /// A command could not be started.
    case spawnFailed = "spawn_failed"
    /// A file could not be read.
    case unreadable
}

extension SourceConfiguration {
    /// The metric name with this source's prefix, if any.
    func metricName(_ metric: String) -> String {
        guard let prefix else { return metric }
        return "\(prefix).\(metric)"
    }
}
