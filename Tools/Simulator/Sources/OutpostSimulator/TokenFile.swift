#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostSupport
import OutpostWire
import OutpostAgent
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The token file `token create --device-prefix … --out FILE` writes: one printed token a
/// line. Blank lines and `#` comments are skipped; anything else must be a token, and each
/// device may appear once. Errors name the line, never its content.
public struct TokenFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var device: DeviceID
        public var token: Redacted<String>
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public init(text: String, path: String = "tokens") throws(SimulationError) {
        var entries: [Entry] = []
        var seen: Set<DeviceID> = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingWhitespaceAndNewlines
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let token = EnrollmentToken(line) else {
                throw SimulationError(.invalidTokenFile, "\(path) line \(index + 1) is not an enrollment token (opt1.…)")
            }
            guard seen.insert(token.device).inserted else {
                throw SimulationError(.invalidTokenFile, "\(path) line \(index + 1): device \(token.device) appears twice")
            }
            entries.append(Entry(device: token.device, token: Redacted(line)))
        }
        guard !entries.isEmpty else { throw SimulationError(.invalidTokenFile, "\(path) holds no token") }
        self.entries = entries
    }

    public static func load(path: String) throws(SimulationError) -> TokenFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SimulationError(.invalidTokenFile, "cannot read \(path)")
        }
        return try TokenFile(text: String(decoding: data, as: UTF8.self), path: path)
    }
}
