/// Top-level string members of a JSON object, read without building a document: for code that
/// only routes a payload by a field or two (the live-event relay reads `type` and `device` of
/// every PostgreSQL notification; `JSONDecoder` into a `JSONValue` was a third of the
/// aggregator's CPU at 1,000 events a second).
public enum JSONMembers {
    /// The values of the top-level members named `names`, in that order: nil for a member that is
    /// absent or not a string. `bytes` must pass `scanner` first (its codes), and be an object
    /// (`wrong_type` otherwise).
    public static func strings(_ names: [StaticString], in bytes: some Collection<UInt8>, scanner: JSONScanner) throws(WireError) -> [String?] {
        try scanner.scan(bytes)
        let result: Result<[String?], WireError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(WireError) in try strings(names, in: JSONReader(bytes: buffer)) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(WireError) in try strings(names, in: JSONReader(bytes: buffer)) }
    }

    private static func strings(_ names: [StaticString], in reader: JSONReader) throws(WireError) -> [String?] {
        let start = reader.skipWhitespace(from: 0)
        guard reader.kind(at: start) == .object else {
            throw WireError(.wrongType, "the payload is \(reader.describe(reader.kind(at: start))), expected an object")
        }
        var values = [String?](repeating: nil, count: names.count)
        try reader.forEachMember(ofObjectAt: start) { key, value throws(WireError) in
            guard reader.kind(at: value) == .string, let slot = names.firstIndex(where: { reader.key(key, is: $0) }) else { return nil }
            values[slot] = try reader.string(at: value, path: "")
            return nil
        }
        return values
    }
}
