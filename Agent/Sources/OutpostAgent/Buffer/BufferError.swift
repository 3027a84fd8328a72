import OutpostSupport

/// A failure of the on-disk reading buffer, with a stable code.
public typealias BufferError = CodedError<BufferErrorCode>

/// The stable codes of ``BufferError``.
public enum BufferErrorCode: String, ErrorCode {
    /// The file could not be opened or created.
    case openFailed = "open_failed"
    /// The file is not a database or failed its integrity check.
    case corrupt
    /// The disk is full.
    case diskFull = "disk_full"
    /// An I/O error from the operating system.
    case io
    /// Any other SQLite error.
    case sqlite
}
