import AggregatorTestSupport
import Foundation
import HTTPTypes
import NIOHTTP1
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

@Suite("Admin API router in process: no TLS, no database")
struct RouterTests {
    @Test("request ids, security headers, CORS off, unknown routes and methods, body limit")
    func crossCutting() async throws {
        try await RouterTestEnvironment.with { env in
            let echoed = try await env.send(.GET, "/api/v1/me", headers: [("X-Request-Id", "abc-123.x")])
            #expect(echoed.headers.first(name: "X-Request-Id") == "abc-123.x")
            #expect(echoed.errorCode == "unauthenticated")
            #expect(echoed.json["error"]?["requestId"] == "abc-123.x")
            let replaced = try await env.send(.GET, "/api/v1/me", headers: [("X-Request-Id", "bad id <script>")])
            #expect(replaced.headers.first(name: "X-Request-Id")?.count == 32)
            #expect(replaced.headers.first(name: "Strict-Transport-Security") == "max-age=31536000")
            #expect(replaced.headers.first(name: "Cache-Control") == "no-store")

            let cors = try await env.send(.GET, "/api/v1/openapi.json", headers: [("Origin", "https://evil.example")])
            #expect(cors.status == 200)
            #expect(cors.headers.first(name: "Access-Control-Allow-Origin") == nil)

            let missing = try await env.send(.GET, "/api/v1/no/such/thing")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
            let wrongMethod = try await env.send(.PUT, "/api/v1/devices")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.errorCode == "method_not_allowed")

            let huge = Data(repeating: UInt8(ascii: "a"), count: env.settings.maxBodyBytes + 1)
            let tooLarge = try await env.send(.POST, "/api/v1/auth/login", rawBody: huge, contentType: "application/json")
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorCode == "body_too_large")
        }
    }

    @Test("every undeclared method on every route, TRACE included, is 405 with Allow; each refusal is counted")
    func methodNotAllowed() async throws {
        try await RouterTestEnvironment.with { env in
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
}
