import OutpostSupport

/// Why a command could not be queued or found, with a stable code.
public typealias CommandError = CodedError<CommandErrorCode>

/// The stable codes of ``CommandError``.
public enum CommandErrorCode: String, ErrorCode {
    case invalidName = "invalid_command_name"
    case invalidArgs = "invalid_args"
    case invalidTTL = "invalid_ttl"
    case unknownDevice = "unknown_device"
    case revokedDevice = "revoked_device"
    case notFound = "not_found"
}
