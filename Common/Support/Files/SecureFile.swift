#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes files the way key material must be written: a temporary file beside the target,
/// created with its final mode (never wider, not even for a moment), fsync'd, then renamed
/// into place. A reader sees the old file or the new one, never half of either.
public enum SecureFile {
    /// A write that failed, naming the path; never the contents.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Atomically replaces `path` with `contents`, created with `mode`; optionally owned by
    /// `owner` and group-owned by `group` (changing the owner needs root).
    public static func write(_ contents: [UInt8], to path: String, mode: mode_t, owner: uid_t? = nil, group: gid_t? = nil)
        throws(WriteError)
    {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + "/.\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var ok = fchmod(fd, mode) == 0
        if ok, owner != nil || group != nil { ok = fchown(fd, owner ?? uid_t.max, group ?? gid_t.max) == 0 }
        var offset = 0
        while ok && offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { ok = false } else { offset += written }
        }
        ok = ok && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let failure = ok ? String(cString: strerror(errno)) : reason
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
    }

    public static func write(_ text: String, to path: String, mode: mode_t, owner: uid_t? = nil, group: gid_t? = nil)
        throws(WriteError)
    {
        try write(Array(text.utf8), to: path, mode: mode, owner: owner, group: group)
    }
}
