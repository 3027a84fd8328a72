import OutpostSupport

/// A recording failure with a stable code.
public typealias RecordingError = CodedError<RecordingErrorCode>

/// The stable codes of ``RecordingError``.
public enum RecordingErrorCode: String, ErrorCode {
    /// The agent did not start its stream toward the recorder (its answer is in the context).
    case streamNotStarted = "recording_stream_not_started"
    /// The media engine could not be started or exited at once.
    case engineFailed = "recording_engine_failed"
    /// A closed segment did not pass ffprobe (unplayable); it is removed, never listed.
    case unplayable = "recording_unplayable"
    /// The thumbnail could not be made.
    case thumbnailFailed = "recording_thumbnail_failed"
    /// No free RTP port pair in `recordings.rtp_port_range`.
    case noPorts = "recording_no_ports"
    /// Recording is enabled but ffmpeg or ffprobe is not an executable at its configured
    /// path: the aggregator refuses to start (rather than retrying a recorder forever).
    case toolMissing = "recording_tool_missing"
    /// Recording is enabled but the C library lacks `posix_spawn_file_actions_addclosefrom_np`
    /// (glibc before 2.34), so no engine could be spawned: the aggregator refuses to start.
    case spawnUnsupported = "recording_spawn_unsupported"
}
