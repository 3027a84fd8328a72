import Foundation

/// Hex test vectors from `Vectors/`: lines of `name hex hex …`; `#` starts a comment.
enum VectorFile {
    static func load(_ file: String) throws -> [String: [[UInt8]]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/\(file)")
        var vectors: [String: [[UInt8]]] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            let bytes = try fields.dropFirst().map { field -> UInt8 in
                guard let byte = UInt8(field, radix: 16) else { throw VectorError(line: String(line)) }
                return byte
            }
            vectors[String(name), default: []].append(bytes)
        }
        return vectors
    }

    struct VectorError: Error { let line: String }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }
