import OutpostSupport

/// A simulator failure with a stable code; the message names the device or file, never a token.
public typealias SimulationError = CodedError<SimulationErrorCode>

/// The stable codes of ``SimulationError``.
public enum SimulationErrorCode: String, ErrorCode {
    /// A command-line value is out of range or unreadable.
    case invalidArgument = "invalid_argument"
    /// The token file is missing, unreadable, or holds a line that is not a token.
    case invalidTokenFile = "invalid_token_file"
    /// A device could not be enrolled (the underlying enrollment error is in the message).
    case enrollmentFailed = "enrollment_failed"
    /// A device's directory holds no usable configuration or buffer.
    case deviceFailed = "device_failed"

    /// The process exit status for this failure.
    public var exitStatus: Int32 {
        switch self {
        case .invalidArgument, .invalidTokenFile: 2
        case .enrollmentFailed, .deviceFailed: 1
        }
    }
}
