import Foundation
import HTTPTypes
import Hummingbird

extension Request {
    /// Decodes a JSON body: `application/json` only (415 otherwise), at most `limit`
    /// bytes (413), well-formed (400 `invalid_json`), with text PostgreSQL can store (422
    /// naming the field, see ``StorableText``) and of the right shape (422).
    /// Unknown fields are refused by the types themselves (see ``StrictKeys``).
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let contentType = headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/json" else {
            throw APIError(.unsupportedMediaType, .unsupportedMediaType, "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, .bodyTooLarge, "request body exceeds \(limit) bytes")
        }
        let data = Data(buffer.readableBytesView)
        try StorableText.check(json: data)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as APIError {
            throw error
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError.validation("missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw APIError.validation("field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.validation(field.isEmpty ? "the body has the wrong shape" : "field '\(field)' is not valid")
        } catch {
            throw APIError.validation("the body has the wrong shape")
        }
    }

    /// Query parameters, refusing any name outside `allowed` (typos must not silently widen a query)
    /// and values with U+0000, which PostgreSQL cannot hold.
    func queryParameters(allowing allowed: Set<String>) throws(APIError) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else { throw APIError(.badRequest, .unknownParameter, "unknown query parameter '\(name)'") }
            guard result[name] == nil else { throw APIError.invalidParameter(name, "is given twice") }
            guard !value.unicodeScalars.contains("\u{0}") else { throw APIError.invalidParameter(name, "must not contain U+0000") }
            result[name] = String(value)
        }
        return result
    }
}

/// Query-string parsing with the API's error codes.
enum QueryValue {
    static func limit(_ parameters: [String: String], default fallback: Int = 100, maximum: Int) throws(APIError) -> Int {
        guard let raw = parameters["limit"] else { return fallback }
        guard let value = Int(raw), (1...maximum).contains(value) else {
            throw APIError.invalidParameter("limit", "must be an integer from 1 to \(maximum)")
        }
        return value
    }

    static func date(_ parameters: [String: String], _ name: String) throws(APIError) -> Date? {
        guard let raw = parameters[name] else { return nil }
        guard let date = RFC3339.parse(raw) else { throw APIError.invalidParameter(name, "must be an RFC 3339 timestamp") }
        return date
    }
}

extension Response {
    /// A JSON response with the API's encoder settings (RFC 3339 dates with milliseconds, sorted keys).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APIJSON.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The same bytes as for any `Encodable`, written by the value itself (``JSONBodyEncodable``).
    static func json(_ value: some JSONBodyEncodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var body = JSONBody(capacity: 4096)
        try value.write(to: &body)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}

enum APIJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// RFC 3339 in UTC with milliseconds (`2026-01-01T00:00:00.000Z`), see ``RFC3339``.
    static func timestamp(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        RFC3339.append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A page of a list: the items and, when more follow, the cursor for the next page.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
    let nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(items, forKey: AnyKey(stringValue: "items"))
        try container.encode(nextCursor, forKey: AnyKey(stringValue: "nextCursor"))
    }
}

extension Page: JSONBodyEncodable where Item: JSONBodyEncodable {
    func write(to body: inout JSONBody) throws {
        body.open("{")
        body.key("items")
        try body.array(items)
        body.key("nextCursor")
        body.string(nextCursor)
        body.close("}")
    }
}

/// A whole list, not paged.
struct ItemsResponse<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
}

/// Decoding that refuses fields a type does not know: mass assignment cannot slip a
/// field through, and a typo is reported instead of ignored.
protocol StrictKeys: Decodable {
    static var allowedKeys: Set<String> { get }
}

struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == AnyKey {
    /// An optional field: nil when absent. `null` is refused with 422, since the document
    /// gives these fields no null (a client sending it means something the server would ignore).
    func decodeOptional<T: Decodable>(_ type: T.Type, _ name: String) throws -> T? {
        let key = AnyKey(stringValue: name)
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { throw APIError.validation("field '\(name)' must not be null; leave it out instead") }
        return try decode(type, forKey: key)
    }
}

extension StrictKeys {
    static func refuseUnknownKeys(_ decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !allowedKeys.contains($0) }.sorted()
        if let first = unknown.first {
            throw APIError(.unprocessableContent, .readOnlyField,
                           "field '\(first)' cannot be set here; allowed: \(allowedKeys.sorted().joined(separator: ", "))")
        }
    }
}
