import Foundation
import HTTPTypes
import NIOHTTP1
import OutpostCommon
import Testing
@testable import OutpostAggregator

@Suite("Admin API conformance: methods, storable text")
struct RouteTableTests {
    @Test("the route table: literal segments win over parameters, catch-alls are not known paths, Allow is sorted")
    func table() {
        let table = RouteTable([("/a/{id}", .get), ("/a/{id}", .patch), ("/a/b", .post), ("/x/**", .get), ("/h", .get)])
        #expect(table.methods(at: "/a/b") == [.post])
        #expect(table.methods(at: "/a/zz") == [.get, .patch])
        #expect(table.methods(at: "/x/y") == nil)
        #expect(table.methods(at: "/a") == nil)
        #expect(table.methods(at: "/h/") == [.get])
        #expect(RouteTable.allowHeader([.patch, .get, .delete]) == "DELETE, GET, PATCH")
    }

    @Test("U+0000 and lone surrogates are found at any depth and named; a valid surrogate pair is text")
    func storableText() throws {
        func refusal(_ body: String) -> APIError? {
            do {
                try StorableText.check(json: Data(body.utf8))
                return nil
            } catch { return error }
        }
        #expect(refusal(#"{"name":"ping","args":{"note":"a\u0000b"}}"#)?.message.contains("'args.note'") == true)
        #expect(refusal(#"{"tags":["ok","x\u0000"]}"#)?.message.contains("'tags[1]'") == true)
        #expect(refusal(#"{"args":{"k\u0000":1}}"#)?.message.contains("'args.k\u{0}'") == true)
        #expect(refusal(#"{"args":{"k":"\ud800"}}"#)?.message.contains("'args.k'") == true)
        #expect(refusal(#"{"args":{"k":"\udc00\ud83d"}}"#)?.code == .validationFailed)
        #expect(refusal(#"{"args":{"k":"\ud83d\ude00 \\ud800"}}"#) == nil, "a pair, and an escaped backslash before 'ud800'")
        #expect(refusal(#"{"name":"é"}"#) == nil)
        #expect(refusal("{nope")?.code == .invalidJSON)
        #expect(refusal(#"{"args":{"k":"\ud800"}}"#)?.status == .unprocessableContent)
    }
}

@Suite("Admin API conformance against a live server", .serialized, .timeLimit(.minutes(5)))
struct APIConformanceTests {
    @Test("every undeclared method on every route, TRACE included, is 405 with Allow; each refusal is counted")
    func methodNotAllowed() async throws {
        try await APITestEnvironment.with { env in
            let methods: [HTTPMethod] = [.GET, .POST, .PUT, .PATCH, .DELETE, .RAW(value: "TRACE")]
            var refused = 0
            for path in Set(AccessPolicy.rules.map(\.path)).sorted() {
                let declared = Set(AccessPolicy.rules.filter { $0.path == path }.map(\.method.rawValue))
                let concrete = "/api/v1" + path.replacingOccurrences(of: "{id}", with: "x1").replacingOccurrences(of: "{username}", with: "u1")
                for method in methods where !declared.contains(method.rawValue) {
                    let reply = try await env.send(method, concrete)
                    #expect(reply.status == 405, "\(method) \(path): \(reply.status) \(reply.text)")
                    #expect(reply.errorCode == "method_not_allowed", "\(method) \(path)")
                    #expect(reply.headers.first(name: "Allow") == declared.sorted().joined(separator: ", "), "\(method) \(path)")
                    refused += 1
                }
            }
            #expect(refused > 100)
            let trace = try await env.send(.RAW(value: "TRACE"), "/api/v1/no/such/thing")
            #expect(trace.status == 404)
            #expect(trace.errorCode == "not_found")
            let text = env.metrics.render()
            #expect(metricValue(text, "outpost_api_errors_total", ["code": "method_not_allowed"]) == Double(refused))
            #expect(metricValue(text, "outpost_api_errors_total", ["code": "not_found"]) == 1)
        }
    }

    @Test("text PostgreSQL cannot hold is 422 naming the field, never a 500, in bodies and query strings")
    func unstorableText() async throws {
        try await APITestEnvironment.with { env in
            try env.psql("INSERT INTO devices (id) VALUES ('meter-1')")
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
            #expect(try env.psql("SELECT count(*) FROM commands") == "0")
            #expect(metricValue(env.metrics.render(), "outpost_api_errors_total", ["code": "validation_failed"]) == 3)
        }
    }
}
