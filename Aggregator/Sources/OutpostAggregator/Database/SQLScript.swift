/// Splits a SQL script into statements, the way `psql` would: on `;` outside quotes,
/// quoted identifiers, dollar-quoted bodies and comments.
///
/// postgres-nio sends each query with the extended protocol, which takes one statement
/// at a time, so a migration file is executed statement by statement.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let scalars = Array(script.unicodeScalars)
        var index = 0
        func flush() {
            let trimmed = current.trimmingWhitespace
            if !trimmed.isEmpty { statements.append(trimmed) }
            current = ""
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch scalar {
            case "-" where next == "-":
                while index < scalars.count && scalars[index] != "\n" { index += 1 }
                continue
            case "/" where next == "*":
                index += 2
                while index + 1 < scalars.count && !(scalars[index] == "*" && scalars[index + 1] == "/") { index += 1 }
                index += 2
                continue
            case "'", "\"":
                current.unicodeScalars.append(scalar)
                index += 1
                while index < scalars.count {
                    current.unicodeScalars.append(scalars[index])
                    index += 1
                    if scalars[index - 1] == scalar { break }
                }
                continue
            case "$":
                if let tagEnd = dollarTagEnd(scalars, from: index) {
                    let tag = scalars[index...tagEnd]
                    var cursor = tagEnd + 1
                    while cursor < scalars.count && !scalars[cursor...].starts(with: tag) { cursor += 1 }
                    let end = min(cursor + tag.count, scalars.count)
                    current.unicodeScalars.append(contentsOf: scalars[index..<end])
                    index = end
                    continue
                }
            case ";":
                flush()
                index += 1
                continue
            default:
                break
            }
            current.unicodeScalars.append(scalar)
            index += 1
        }
        flush()
        return statements
    }

    /// The index of the closing `$` of a dollar-quote tag (`$$` or `$tag$`) starting at `start`.
    private static func dollarTagEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var cursor = start + 1
        while cursor < scalars.count {
            let scalar = scalars[cursor]
            if scalar == "$" { return cursor }
            guard scalar.properties.isAlphabetic || scalar == "_" || (cursor > start + 1 && ("0"..."9").contains(scalar)) else {
                return nil
            }
            cursor += 1
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
