import Foundation

/// One HTTP byte range (RFC 9110 §14) resolved against a file's size, so a browser's
/// `<video>` can seek inside a segment.
public enum ByteRange: Equatable, Sendable {
    /// No usable Range header (absent, not `bytes=`, or several ranges): the whole file, 200.
    case whole
    /// 206 with `Content-Range: bytes first-last/size`.
    case partial(ClosedRange<Int64>)
    /// 416 with `Content-Range: bytes */size`.
    case unsatisfiable

    /// Resolves `header` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against `size`.
    public static func resolve(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        guard first.allSatisfy(\.isNumber), last.allSatisfy(\.isNumber), first.count <= 18, last.count <= 18, !(first.isEmpty && last.isEmpty) else {
            return .whole
        }
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int64(first), start < size else { return .unsatisfiable }
        let end = last.isEmpty ? size - 1 : min(Int64(last) ?? size - 1, size - 1)
        guard end >= start else { return .whole }
        return .partial(start...end)
    }
}
