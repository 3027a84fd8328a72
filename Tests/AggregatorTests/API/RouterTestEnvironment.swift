import AggregatorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing
@testable import OutpostAggregator

/// The admin API's router in process: no TLS, no listener, no database (HummingbirdTesting's
/// `.router`). For what the middleware and the route table answer on their own: request ids,
/// security headers, CORS, body limits, unmatched routes, the served document. Every reply is
/// checked against the document the router serves, as ``APIReply/check(_:_:validator:sourceLocation:)`` says.
///
/// The PostgreSQL client is never run, so a request that reaches a query would wait for a
/// connection; such tests belong with a real database in AggregatorIntegrationTests.
struct RouterTestEnvironment: Sendable {
    typealias Reply = APIReply

    let settings: APISettings
    let metrics: AggregatorMetrics
    let client: any TestClientProtocol
    let validator: OpenAPIValidator

    /// Test settings: as the live API tests use (bcrypt cost 4, generous budgets).
    static let defaultSettings = APISettings(bcryptCost: 4, maxBodyBytes: 16_384, loginPerIpPerMinute: 1000,
                                             loginPerUserPerMinute: 1000, requestsPerMinute: 100_000)

    /// Runs `body` against a fresh router built as ``HTTPServer/router(providers:metrics:)`` builds it for serving.
    static func with(settings: APISettings = defaultSettings, _ body: @Sendable (RouterTestEnvironment) async throws -> Void) async throws {
        var logger = Logger(label: "test.router")
        logger.logLevel = .warning
        let unused = PostgresPool(
            configuration: .init(host: "127.0.0.1", port: 1, username: "none", password: nil, database: nil, tls: .disable),
            backgroundLogger: logger)
        let metrics = AggregatorMetrics()
        let api = AdminAPI(client: unused, settings: settings, metrics: metrics, logger: logger)
        let app = Application(router: HTTPServer.router(providers: [api], metrics: metrics), logger: logger)
        try await app.test(.router) { client in
            let document = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(document.status == .ok)
            let validator = try OpenAPIValidator(data: Data(buffer: document.body))
            try await body(RouterTestEnvironment(settings: settings, metrics: metrics, client: client, validator: validator))
        }
    }

    /// Sends a request through the router; checks the reply as the live API tests do.
    @discardableResult
    func send(_ method: NIOHTTP1.HTTPMethod, _ path: String, rawBody: Data? = nil, contentType: String? = nil,
              headers extra: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply
    {
        var fields = HTTPFields()
        if let contentType { fields.append(HTTPField(name: .contentType, value: contentType)) }
        for (name, value) in extra {
            guard let field = HTTPField.Name(name) else { throw RouterTestFailure(description: "bad header name \(name)") }
            fields.append(HTTPField(name: field, value: value))
        }
        guard let requestMethod = HTTPRequest.Method(method.rawValue) else { throw RouterTestFailure(description: "bad method \(method)") }
        let response = try await client.execute(uri: path, method: requestMethod, headers: fields, body: rawBody.map { ByteBuffer(bytes: $0) })
        let reply = Reply(status: response.status.code, headers: HTTPHeaders(response.headers.map { ($0.name.rawName, $0.value) }),
                          body: Data(buffer: response.body))
        reply.check(method.rawValue, path, validator: validator, sourceLocation: sourceLocation)
        return reply
    }
}

struct RouterTestFailure: Error, CustomStringConvertible {
    let description: String
}
