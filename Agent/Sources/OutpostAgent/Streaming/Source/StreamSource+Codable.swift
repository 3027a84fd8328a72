import OutpostSupport

extension StreamSource: Codable {
    /// The JSON form ``init(json:)`` reads, so a configuration round-trips.
    public var json: JSONValue {
        switch self {
        case .file(let path, let framesPerSecond, let loop):
            ["kind": "file", "path": .string(path), "fps": .number(framesPerSecond), "loop": .bool(loop)]
        case .fifo(let path):
            ["kind": "fifo", "path": .string(path)]
        case .command(let arguments):
            ["kind": "command", "argv": .array(arguments.map { .string($0) })]
        }
    }

    public init(from decoder: any Decoder) throws {
        let json = try JSONValue(from: decoder)
        do {
            self = try StreamSource(json: json)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.context, underlyingError: error))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}
