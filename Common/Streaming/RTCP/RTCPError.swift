import OutpostSupport

/// Why an RTCP packet was refused. Equality compares the code; tests assert it, counters label by it.
public typealias RTCPError = CodedError<RTCPErrorCode>

/// The stable codes of ``RTCPError``.
public enum RTCPErrorCode: String, ErrorCode {
    /// Shorter than a 4-byte RTCP header, or than its own length field says.
    case truncated = "rtcp_truncated"
    /// The version field is not 2.
    case badVersion = "rtcp_bad_version"
    /// A padding count that is zero or exceeds the packet.
    case badPadding = "rtcp_bad_padding"
    /// A known packet type whose body is too short for its declared counts.
    case malformed = "rtcp_malformed"
}
