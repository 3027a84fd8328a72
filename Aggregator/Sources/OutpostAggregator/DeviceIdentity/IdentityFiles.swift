import Foundation
import OutpostSupport

/// ``OutpostSupport/SecureFile`` with failures as ``IdentityError``.
enum IdentityFiles {
    static func write(_ text: String, to path: String, mode: mode_t, group: gid_t? = nil) throws(IdentityError) {
        do {
            try SecureFile.write(text, to: path, mode: mode, group: group)
        } catch {
            throw IdentityError(.fileWriteFailed, error.description)
        }
    }

    static func createDirectory(_ path: String, mode: mode_t) throws(IdentityError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: Int(mode)])
        } catch {
            throw IdentityError(.fileWriteFailed, "cannot create \(path): \(error)")
        }
    }
}
