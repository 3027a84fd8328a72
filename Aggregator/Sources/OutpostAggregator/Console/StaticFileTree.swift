import Foundation

/// A directory whose files may be served by name, and nothing outside it.
///
/// A request path maps to a file only when every component is a plain name (letters,
/// digits, `.`, `_`, `-`, not starting with a dot) and its extension has a known content
/// type, so neither `..`, hidden files, percent-encoded separators nor unknown kinds of
/// file can be reached. Symbolic links inside the tree are followed: Debian's
/// `/usr/share/javascript` is made of them, and its files belong to packages.
public struct StaticFileTree: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// Content types by extension; any other extension is not served.
    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "json": "application/json",
        "map": "application/json",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
        "woff2": "font/woff2",
        "txt": "text/plain; charset=utf-8",
    ]

    /// The file's path and content type for the components of a request path under the
    /// tree, or nil when the path is not one this tree may serve.
    public func resolve(_ components: [Substring]) -> (path: String, contentType: String)? {
        guard !components.isEmpty, components.allSatisfy(Self.isPlainName),
              let dot = components.last?.lastIndex(of: "."),
              let type = Self.contentTypes[String(components.last![components.last!.index(after: dot)...]).lowercased()]
        else { return nil }
        return (root + "/" + components.joined(separator: "/"), type)
    }

    /// The file's bytes, or nil when it is not a readable regular file.
    public func read(_ components: [Substring]) -> (data: Data, contentType: String)? {
        guard let (path, type) = resolve(components) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return (data, type)
    }

    static func isPlainName(_ component: Substring) -> Bool {
        guard let first = component.utf8.first, first != UInt8(ascii: "."), component.utf8.count <= 255 else { return false }
        return component.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F
        }
    }
}
