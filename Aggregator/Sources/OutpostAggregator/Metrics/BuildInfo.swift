import Foundation
import OutpostSupport

/// The version and commit `outpost_build_info` carries.
enum BuildInfo {
    static let version = OutpostVersion.current

    /// Where `make deb` writes the commit it packaged (`git rev-parse --short HEAD`).
    static let commitFile = "/usr/share/outpost-aggregator/commit"

    /// The packaged commit, or `unknown` for a binary built from a checkout.
    static let commit: String = {
        guard let text = try? String(contentsOfFile: commitFile, encoding: .utf8) else { return "unknown" }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty || commit.count > 64 ? "unknown" : commit
    }()
}
