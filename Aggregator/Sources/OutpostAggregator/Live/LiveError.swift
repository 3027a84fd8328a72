import OutpostSupport

/// A live-view failure with a stable code; the admin API maps it to a status.
public typealias LiveError = CodedError<LiveErrorCode>

/// The stable codes of ``LiveError``.
public enum LiveErrorCode: String, ErrorCode {
    /// Live view is not configured, or Janus does not answer.
    case janusUnavailable = "live_unavailable"
    /// Janus answered a request with an error (its code and reason are in the context).
    case janusRefused = "janus_refused"
    /// Janus's answer was not the JSON expected.
    case janusMalformed = "janus_malformed"
    /// The agent's SDP offer had no usable H.264 `a=fmtp` line.
    case badOffer = "live_bad_offer"
    /// A browser asked Janus for something a viewer may not do.
    case requestRefused = "live_request_refused"
}
