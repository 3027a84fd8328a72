import Foundation
import HTTPTypes
import NIOHTTP1
import Testing
@testable import OutpostAggregator

@Suite("Admin API conformance against a live server", .serialized, .timeLimit(.minutes(5)))
struct APIConformanceTests {
    @Test("text PostgreSQL cannot hold is 422 naming the field, never a 500, in bodies and query strings")
    func unstorableText() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("INSERT INTO devices (id) VALUES ('meter-1')")
            let operatorKey = try await env.createAPIKey(role: .operator)
            let command = try await env.send(.POST, "/api/v1/devices/meter-1/commands", token: operatorKey,
                                             json: ["name": "ping", "args": ["note": "a\u{0}b"]])
            #expect(command.status == 422)
            #expect(command.errorCode == "validation_failed")
            #expect(command.json["error"]?["message"]?.stringValue?.contains("'args.note'") == true, "\(command.text)")
            let surrogate = try await env.send(.POST, "/api/v1/devices/meter-1/commands", token: operatorKey,
                                               rawBody: Data(#"{"name":"ping","args":{"k":"\ud800"}}"#.utf8), contentType: "application/json")
            #expect(surrogate.status == 422)
            #expect(surrogate.json["error"]?["message"]?.stringValue?.contains("'args.k'") == true, "\(surrogate.text)")
            let name = try await env.send(.PATCH, "/api/v1/devices/meter-1", token: operatorKey, json: ["name": "Meter\u{0}"])
            #expect(name.status == 422)
            #expect(name.json["error"]?["message"]?.stringValue?.contains("'name'") == true, "\(name.text)")
            let query = try await env.send(.GET, "/api/v1/devices?q=a%00b", token: operatorKey)
            #expect(query.status == 400)
            #expect(query.errorCode == "invalid_parameter")
            #expect(try await env.psql("SELECT count(*) FROM commands") == "0")
            #expect(metricValue(env.metrics.render(), "outpost_api_errors_total", ["code": "validation_failed"]) == 3)
        }
    }
}
