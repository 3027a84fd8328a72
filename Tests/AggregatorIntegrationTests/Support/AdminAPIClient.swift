import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostSupport
import Testing
import TestHarness

/// An HTTPS client of a running admin API whose every response is checked against the
/// OpenAPI document that server serves, and against the cross-cutting guarantees.
/// ``APITestEnvironment`` uses one; end-to-end tests with a whole aggregator use one too.
struct AdminAPIClient: Sendable {
    typealias Reply = APIReply

    let http: HTTPClient
    let baseURL: String
    let validator: OpenAPIValidator

    /// Waits (bounded) until the server at `baseURL` serves its OpenAPI document, and checks against that.
    static func connect(http: HTTPClient, baseURL: String, timeout: Duration = .seconds(60)) async throws -> AdminAPIClient {
        var document: Data?
        try await waitUntil(timeout: timeout, "the admin API at \(baseURL) to answer") {
            var request = HTTPClientRequest(url: baseURL + "/api/v1/openapi.json")
            request.method = .GET
            guard let response = try? await http.execute(request, timeout: .seconds(10)), response.status == .ok else { return false }
            document = Data(buffer: try await response.body.collect(upTo: 1 << 20))
            return true
        }
        return AdminAPIClient(http: http, baseURL: baseURL, validator: try OpenAPIValidator(data: document!))
    }

    /// Sends a request; checks the response against the OpenAPI document and the
    /// cross-cutting guarantees (request id, security headers, the one error shape).
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil, rawBody: Data? = nil,
              contentType: String? = nil, headers extra: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> Reply
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json)))
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(bytes: rawBody))
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        let reply = Reply(status: Int(response.status.code), headers: response.headers, body: body)
        reply.check(method.rawValue, path, validator: validator, sourceLocation: sourceLocation)
        return reply
    }

    /// Opens `GET path` and returns the status and headers without waiting for the body
    /// to end (for the live-event stream); JSON error bodies are checked as usual.
    func open(_ path: String, token: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (reply: Reply, stream: HTTPClientResponse.Body)
    {
        var request = HTTPClientRequest(url: baseURL + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(30))
        #expect(response.headers.first(name: "X-Request-Id")?.isEmpty == false, sourceLocation: sourceLocation)
        let errorBody = response.status.code >= 400 ? Data(buffer: try await response.body.collect(upTo: 1 << 20)) : Data()
        try validator.validate(method: "GET", path: path, status: Int(response.status.code),
                               contentType: response.headers.first(name: "Content-Type"), body: errorBody)
        return (Reply(status: Int(response.status.code), headers: response.headers, body: errorBody), response.body)
    }
}
