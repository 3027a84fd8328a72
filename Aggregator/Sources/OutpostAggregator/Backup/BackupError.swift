import OutpostSupport

/// A backup or restore that could not be done, with a stable code and what was being done.
public typealias BackupError = CodedError<BackupErrorCode>

/// The stable codes of ``BackupError``.
public enum BackupErrorCode: String, ErrorCode {
    /// A file or directory the configuration names is not there.
    case missingFile = "missing_file"
    /// `pg_dump`, `pg_restore`, `tar`, `cp` or `openssl` failed; the message has its error output.
    case toolFailed = "tool_failed"
    /// The passphrase is wrong or the encrypted archive is damaged.
    case decryptionFailed = "decryption_failed"
    /// The archive is encrypted and no passphrase was given, or the passphrase is empty.
    case passphraseRequired = "passphrase_required"
    /// Not an Outpost backup, or one of a format this version does not read.
    case invalidArchive = "invalid_archive"
    /// Restoring would replace files that exist (pass `--overwrite` to replace them).
    case wouldOverwrite = "would_overwrite"
}
