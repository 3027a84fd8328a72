import Foundation
import OutpostSupport

/// Checks responses against the served OpenAPI 3.1 document: the operation exists, the
/// status is documented, and a JSON body validates against the schema.
///
/// Written here rather than taken from Python's openapi-core: the document uses a small
/// JSON Schema subset (type, properties, required, additionalProperties, items, enum,
/// $ref, format date-time/uuid, minimum/maximum, min/maxLength, maxItems, pattern), and
/// the validator refuses any keyword outside it, so the subset cannot grow unnoticed.
public struct OpenAPIValidator: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let document: [String: JSONValue]
    public let prefix = "/api/v1"

    public init(data: Data) throws {
        guard case .object(let document) = try JSONDecoder().decode(JSONValue.self, from: data) else {
            throw Failure(description: "the document is not a JSON object")
        }
        self.document = document
    }

    public var paths: [String: JSONValue] { document["paths"]?.objectValue ?? [:] }

    /// The documented path template matching `path` (without query), if any.
    public func template(for path: String) -> String? {
        guard path.hasPrefix(prefix) else { return nil }
        let segments = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let candidates = paths.keys.filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard parts.count == segments.count else { return false }
            return zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
        return candidates.min { $0.filter { $0 == "{" }.count < $1.filter { $0 == "{" }.count }
    }

    /// Validates one exchange; throws a readable failure.
    public func validate(method: String, path: String, status: Int, contentType: String?, body: Data) throws {
        let pathOnly = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let template = template(for: pathOnly), let item = paths[template]?.objectValue else {
            if status == 404 || status == 405 || status == 401 { return try validateError(status: status, contentType: contentType, body: body, where: path) }
            throw Failure(description: "\(method) \(path): no documented path (status \(status))")
        }
        guard let operation = item[method.lowercased()]?.objectValue else {
            if status == 405 || status == 401 || status == 429 {
                return try validateError(status: status, contentType: contentType, body: body, where: path)
            }
            throw Failure(description: "\(method) \(template): operation not documented (status \(status))")
        }
        guard var response = operation["responses"]?.objectValue?["\(status)"]?.objectValue else {
            throw Failure(description: "\(method) \(template): status \(status) not documented")
        }
        if case .string(let reference)? = response["$ref"] { response = try resolve(reference) }
        guard let content = response["content"]?.objectValue else {
            guard body.isEmpty else { throw Failure(description: "\(method) \(template) \(status): body where none is documented") }
            return
        }
        guard let media = contentType?.split(separator: ";").first.map(String.init), let schema = content[media]?.objectValue?["schema"]
        else { throw Failure(description: "\(method) \(template) \(status): content type \(contentType ?? "none") not documented") }
        guard media == "application/json" else { return }
        let value = try JSONDecoder().decode(JSONValue.self, from: body)
        try validate(value, against: schema, at: "\(method) \(template) \(status) $")
    }

    /// Validates one server-sent event of `GET path` against the schema the document's
    /// `x-events` map gives its type; an undocumented type fails.
    public func validateEvent(path: String, type: String, data: JSONValue) throws {
        let pathOnly = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let template = template(for: pathOnly),
              let media = paths[template]?["get"]?["responses"]?["200"]?["content"]?["text/event-stream"]
        else { throw Failure(description: "GET \(path): no documented event stream") }
        guard let schema = media["x-events"]?[type] else { throw Failure(description: "GET \(template): event type \(type) not documented") }
        try validate(data, against: schema, at: "GET \(template) event \(type) $")
    }

    private func validateError(status: Int, contentType: String?, body: Data, where path: String) throws {
        guard contentType?.hasPrefix("application/json") == true else { throw Failure(description: "\(path) \(status): error without JSON") }
        let value = try JSONDecoder().decode(JSONValue.self, from: body)
        try validate(value, against: .object(["$ref": .string("#/components/schemas/Error")]), at: "\(path) \(status) $")
    }

    public func resolve(_ reference: String) throws -> [String: JSONValue] {
        guard reference.hasPrefix("#/") else { throw Failure(description: "external $ref \(reference)") }
        var node = JSONValue.object(document)
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let next = node.objectValue?[String(part)] else { throw Failure(description: "dangling $ref \(reference)") }
            node = next
        }
        guard let resolved = node.objectValue else { throw Failure(description: "$ref \(reference) is not an object") }
        return resolved
    }

    /// RFC 3339 date-time.
    public static let dateTimePattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"#

    public static let knownKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "enum", "$ref", "format", "minimum", "maximum",
        "minLength", "maxLength", "maxItems", "minProperties", "pattern", "description",
    ]

    public func validate(_ value: JSONValue, against schemaValue: JSONValue, at location: String) throws {
        guard var schema = schemaValue.objectValue else { throw Failure(description: "\(location): schema is not an object") }
        if case .string(let reference)? = schema["$ref"] { schema = try resolve(reference) }
        if let unknown = schema.keys.first(where: { !Self.knownKeywords.contains($0) }) {
            throw Failure(description: "\(location): schema keyword \(unknown) is outside the validator's subset")
        }
        if let types = schema["type"] {
            let allowed: [String] = switch types {
            case .string(let one): [one]
            case .array(let many): many.compactMap(\.stringValue)
            default: []
            }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                throw Failure(description: "\(location): \(value) is not of type \(allowed)")
            }
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            throw Failure(description: "\(location): \(value) not in \(options)")
        }
        switch value {
        case .string(let string):
            if let format = schema["format"]?.stringValue {
                switch format {
                case "date-time":
                    guard string.range(of: Self.dateTimePattern, options: .regularExpression) != nil else {
                        throw Failure(description: "\(location): \(string) is not a date-time")
                    }
                case "uuid":
                    guard UUID(uuidString: string) != nil else { throw Failure(description: "\(location): \(string) is not a uuid") }
                default: break
                }
            }
            if case .number(let maxLength)? = schema["maxLength"], Double(string.unicodeScalars.count) > maxLength { throw Failure(description: "\(location): too long") }
            if case .number(let minLength)? = schema["minLength"], Double(string.unicodeScalars.count) < minLength { throw Failure(description: "\(location): too short") }
            if let pattern = schema["pattern"]?.stringValue, string.range(of: pattern, options: .regularExpression) == nil {
                throw Failure(description: "\(location): \(string) does not match \(pattern)")
            }
        case .number(let number):
            if case .number(let minimum)? = schema["minimum"], number < minimum { throw Failure(description: "\(location): below minimum") }
            if case .number(let maximum)? = schema["maximum"], number > maximum { throw Failure(description: "\(location): above maximum") }
        case .object(let object):
            let properties = schema["properties"]?.objectValue ?? [:]
            if case .number(let minProperties)? = schema["minProperties"], Double(object.count) < minProperties {
                throw Failure(description: "\(location): fewer than \(Int(minProperties)) properties")
            }
            if case .array(let required)? = schema["required"] {
                for name in required.compactMap(\.stringValue) where object[name] == nil {
                    throw Failure(description: "\(location): missing required \(name)")
                }
            }
            for (name, member) in object {
                if let propertySchema = properties[name] {
                    try validate(member, against: propertySchema, at: "\(location).\(name)")
                } else if let additional = schema["additionalProperties"] {
                    if case .bool(let allowed) = additional {
                        if !allowed { throw Failure(description: "\(location): undocumented property \(name)") }
                    } else {
                        try validate(member, against: additional, at: "\(location).\(name)")
                    }
                }
            }
        case .array(let array):
            if case .number(let maxItems)? = schema["maxItems"], Double(array.count) > maxItems { throw Failure(description: "\(location): too many items") }
            if let items = schema["items"] {
                for (index, element) in array.enumerated() { try validate(element, against: items, at: "\(location)[\(index)]") }
            }
        default:
            break
        }
    }

    public static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("number", .number): true
        case ("integer", .number(let number)): number == number.rounded()
        default: false
        }
    }
}

extension JSONValue {
    public var objectValue: [String: JSONValue]? { if case .object(let object) = self { object } else { nil } }
}

extension JSONValue {
    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }
}
