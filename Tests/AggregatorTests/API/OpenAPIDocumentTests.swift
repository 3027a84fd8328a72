import AggregatorTestSupport
import Foundation
import OutpostSupport
import Testing
@testable import OutpostAggregator

@Suite("OpenAPI document and authorization table (pure)")
struct OpenAPIDocumentTests {
    @Test("the document is OpenAPI 3.1 and documents exactly the routes of the authorization table, with their roles")
    func documentMatchesPolicy() throws {
        let validator = try OpenAPIValidator(data: Data(OpenAPIDocument.json.utf8))
        #expect(validator.document["openapi"]?.stringValue == "3.1.0")
        var documented: Set<String> = []
        for (path, item) in validator.paths {
            for (method, operation) in item.objectValue ?? [:] {
                documented.insert("\(method.uppercased()) \(path)")
                let rule = AccessPolicy.rules.first { $0.path == path && $0.method.rawValue == method.uppercased() }
                #expect(rule != nil, "\(method) \(path) is documented but not routed")
                #expect(operation["x-minimum-role"]?.stringValue == rule?.minimumRole?.rawValue, "role of \(method) \(path)")
                let security = operation["security"]
                #expect((security == .array([])) == (rule?.minimumRole == nil), "security of \(method) \(path)")
            }
        }
        #expect(documented == Set(AccessPolicy.rules.map { "\($0.method.rawValue) \($0.path)" }))
    }

    @Test("every schema uses only keywords the validator understands, and every $ref resolves")
    func schemasAreCheckable() throws {
        let validator = try OpenAPIValidator(data: Data(OpenAPIDocument.json.utf8))
        for (name, schema) in validator.document["components"]?["schemas"]?.objectValue ?? [:] {
            try checkKeywords(schema, validator: validator, at: name)
        }
    }

    private func checkKeywords(_ schema: JSONValue, validator: OpenAPIValidator, at location: String) throws {
        guard let object = schema.objectValue else { return }
        for key in object.keys { #expect(OpenAPIValidator.knownKeywords.contains(key), "\(location): \(key)") }
        if let reference = object["$ref"]?.stringValue { _ = try validator.resolve(reference) }
        for (name, property) in object["properties"]?.objectValue ?? [:] { try checkKeywords(property, validator: validator, at: "\(location).\(name)") }
        if let items = object["items"] { try checkKeywords(items, validator: validator, at: "\(location)[]") }
    }
}
