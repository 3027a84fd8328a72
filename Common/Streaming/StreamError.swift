import OutpostSupport

/// Why a stream could not start or ended badly. Equality compares the code.
public typealias StreamError = CodedError<StreamErrorCode>

/// The stable codes of ``StreamError``.
public enum StreamErrorCode: String, ErrorCode {
    /// The request or its `start_stream` arguments are invalid.
    case invalidRequest = "invalid_request"
    /// The destination host did not resolve.
    case resolveFailed = "resolve_failed"
    /// The kernel has no route (and so no source address) toward the destination.
    case noRoute = "no_route"
    /// A local RTP/RTCP port could not be bound.
    case bindFailed = "bind_failed"
    /// The source could not be opened or started.
    case sourceFailed = "source_failed"
    /// The source gave no SPS and PPS within the preroll time; the SDP needs them.
    case noParameterSets = "no_parameter_sets"
    /// A stream is already running on this controller.
    case alreadyStreaming = "already_streaming"
    /// No stream is prepared or running.
    case notStreaming = "not_streaming"
    /// `stop_stream` named a destination the running stream does not go to (it was
    /// re-pointed since): that stream keeps running.
    case otherDestination = "stream_other_destination"
    /// libsrtp could not set up a session or protect a packet.
    case srtpFailed = "srtp_failed"
    /// An SRTCP packet failed authentication or the replay check.
    case srtpRejected = "srtp_rejected"
}
