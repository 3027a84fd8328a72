/// A recording failure with a stable code.
public struct RecordingError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The agent did not start its stream toward the recorder (its answer is in the context).
        public static let streamNotStarted = Code("recording_stream_not_started")
        /// The media engine could not be started or exited at once.
        public static let engineFailed = Code("recording_engine_failed")
        /// A closed segment did not pass ffprobe (unplayable); it is removed, never listed.
        public static let unplayable = Code("recording_unplayable")
        /// The thumbnail could not be made.
        public static let thumbnailFailed = Code("recording_thumbnail_failed")
        /// No free RTP port pair in `recordings.rtp_port_range`.
        public static let noPorts = Code("recording_no_ports")
        /// Recording is enabled but ffmpeg or ffprobe is not an executable at its configured
        /// path: the aggregator refuses to start (rather than retrying a recorder forever).
        public static let toolMissing = Code("recording_tool_missing")
        /// Recording is enabled but the C library lacks `posix_spawn_file_actions_addclosefrom_np`
        /// (glibc before 2.34), so no engine could be spawned: the aggregator refuses to start.
        public static let spawnUnsupported = Code("recording_spawn_unsupported")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    public var description: String { "\(code.rawValue): \(context)" }
}
