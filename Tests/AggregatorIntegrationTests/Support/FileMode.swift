import Foundation
import TestHarness

/// The permission bits of `path` (e.g. 0o600).
func fileMode(_ path: String) throws -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { throw HarnessError("stat \(path) failed") }
    return Int(info.st_mode & 0o777)
}
