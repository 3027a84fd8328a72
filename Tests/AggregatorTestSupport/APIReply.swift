import Foundation
import NIOHTTP1
import OutpostSupport
import Testing

/// One admin API response as the tests see it, whether it came over HTTPS or in process.
public struct APIReply: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data

    public init(status: Int, headers: HTTPHeaders, body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
    public var errorCode: String? { json["error"]?["code"]?.stringValue }
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Checks the reply against the OpenAPI document and the cross-cutting guarantees
    /// (request id, security headers, the one error shape, no server fault).
    public func check(_ method: String, _ path: String, validator: OpenAPIValidator, sourceLocation: SourceLocation) {
        #expect(headers.first(name: "X-Request-Id")?.isEmpty == false, "no request id on \(method) \(path)", sourceLocation: sourceLocation)
        #expect(headers.first(name: "X-Content-Type-Options") == "nosniff", "no security headers on \(method) \(path)",
                sourceLocation: sourceLocation)
        // 502 command_failed relays a device's own failure, 503 live_unavailable says live view
        // is not configured; every other 5xx is a server fault.
        #expect(status < 500 || ["command_failed", "live_unavailable"].contains(errorCode), "\(method) \(path) answered \(status): \(text)",
                sourceLocation: sourceLocation)
        if status >= 400 {
            #expect(json["error"]?["requestId"]?.stringValue == headers.first(name: "X-Request-Id"),
                    "error body of \(method) \(path) lacks the request id", sourceLocation: sourceLocation)
        }
        do {
            try validator.validate(method: method, path: path, status: status, contentType: headers.first(name: "Content-Type"), body: body)
        } catch {
            Issue.record("OpenAPI: \(error)", sourceLocation: sourceLocation)
        }
    }
}
