import Foundation
import OutpostWire

/// A device message PostgreSQL refused for its data, kept in `rejected_messages` instead of
/// being retried.
public struct DeadLetter: Sendable, Equatable {
    public var device: DeviceID
    public var kind: Topic.Kind
    public var topic: String
    public var code: String
    public var sqlstate: String?
    public var excerpt: String

    /// The `code` of every message the database refused.
    public static let databaseRefused = "database_refused"
    /// Longest kept excerpt, in bytes.
    public static let maxExcerptBytes = 1_024

    public init(device: DeviceID, kind: Topic.Kind, sqlstate: String?, message: some Encodable) {
        self.device = device
        self.kind = kind
        self.topic = Topic(device, kind).name
        self.code = Self.databaseRefused
        self.sqlstate = sqlstate
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        self.excerpt = Self.excerpt(text)
    }

    /// `text` cut to at most ``maxExcerptBytes`` on a character boundary, with any NUL
    /// replaced, so the excerpt itself is always storable.
    static func excerpt(_ text: String) -> String {
        var kept = ""
        var bytes = 0
        for character in text.replacing("\u{0}", with: "\u{FFFD}") {
            bytes += character.utf8.count
            guard bytes <= maxExcerptBytes else { break }
            kept.append(character)
        }
        return kept
    }
}
