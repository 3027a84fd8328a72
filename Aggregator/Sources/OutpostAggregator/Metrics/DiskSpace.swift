import Foundation

/// Free space of the file system holding a directory, as `statvfs(3)` reports it to an
/// unprivileged process (blocks reserved for root are not free).
struct DiskSpace: Sendable, Equatable {
    var freeBytes: Double
    var totalBytes: Double

    /// Free over total; 0 for a file system that reports no size.
    var freeRatio: Double { totalBytes > 0 ? freeBytes / totalBytes : 0 }

    /// The file system holding `path`, or nil when it cannot be read.
    static func of(_ path: String) -> DiskSpace? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let unit = Double(stats.f_frsize)
        return DiskSpace(freeBytes: Double(stats.f_bavail) * unit, totalBytes: Double(stats.f_blocks) * unit)
    }
}
