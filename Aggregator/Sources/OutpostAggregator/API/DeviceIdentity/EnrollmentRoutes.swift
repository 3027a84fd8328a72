import Foundation
import Hummingbird
import Logging
import NIOCore
import OutpostWire
import X509

/// The config endpoint: `POST /api/v1/enroll` and `POST /api/v1/renew`, JSON in and out,
/// and `GET /api/v1/ca`.
///
/// Every refusal is a 4xx with `{"error": {"code", "message"}}` and a stable code
/// (``IdentityError/Code``); anything unexpected is a 500 with code `internal_error` and
/// is logged, never echoed. Each source address has a budget of
/// `identity.config_requests_per_minute` requests over the three routes; past it they
/// answer 429 `rate_limited` with `Retry-After` before any body is read, so a flood of
/// CSRs cannot take the CA's CPU. Counters: `outpost_identity_requests_total{operation, outcome}`,
/// where outcome is `issued` (`served` for `ca`), a refusal code, or `internal_error`.
public struct EnrollmentRoutes: RouteProvider {
    /// Largest accepted request body; a CSR is well under 2 KiB.
    public static let maxBodyBytes = 64 * 1024

    public let service: EnrollmentService
    public let logger: Logger
    let metrics: AggregatorMetrics
    let limiter: RateLimiter

    /// - Parameter requestsPerMinute: the budget of each source address (`identity.config_requests_per_minute`).
    public init(service: EnrollmentService, metrics: AggregatorMetrics, requestsPerMinute: Int = 600, logger: Logger) {
        self.service = service
        self.metrics = metrics
        self.logger = logger
        limiter = RateLimiter(policy: .perWindow(requestsPerMinute, seconds: 60))
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/api/v1/enroll") { request, context in
            await respond("enroll", context) {
                try await service.enroll(try await decode(EnrollRequest.self, request))
            }
        }
        router.post("/api/v1/renew") { request, context in
            await respond("renew", context) {
                let body = try await decode(RenewRequest.self, request)
                let peer = try await context.peerCertificate()
                let certificate = try peer.map { try Certificate(derEncoded: try $0.toDERBytes()) }
                return try await service.renew(body, clientCertificate: certificate)
            }
        }
        router.get("/api/v1/ca") { _, context in
            if let refusal = await limited("ca", context) { return refusal }
            metrics.identityRequest(operation: "ca", outcome: "served")
            return Response(status: .ok, headers: [.contentType: "application/x-pem-file"],
                            body: .init(byteBuffer: ByteBuffer(string: service.authority.certificatePEM)))
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw IdentityError(.malformedRequest, "the body is larger than \(Self.maxBodyBytes) bytes")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw IdentityError(.malformedRequest, "the body is not the expected JSON")
        }
    }

    /// The 429 answer when the source address is over its budget, counted; nil otherwise.
    private func limited(_ operation: String, _ context: AppRequestContext) async -> Response? {
        guard case .limited(let seconds) = await limiter.take(context.remoteAddress ?? "unknown") else { return nil }
        metrics.identityRequest(operation: operation, outcome: IdentityError.Code.rateLimited.rawValue)
        var response = Self.json(.tooManyRequests, ErrorResponse(
            code: IdentityError.Code.rateLimited.rawValue, message: "too many requests from this address; retry after \(seconds) s"))
        response.headers[.retryAfter] = "\(seconds)"
        return response
    }

    private func respond(_ operation: String, _ context: AppRequestContext, _ body: () async throws -> CertificateResponse) async -> Response {
        if let refusal = await limited(operation, context) { return refusal }
        func count(_ outcome: String) {
            metrics.identityRequest(operation: operation, outcome: outcome)
        }
        do {
            let response = try await body()
            count("issued")
            return Self.json(.ok, response)
        } catch let error as IdentityError {
            count(error.code.rawValue)
            logger.notice("\(operation) refused", metadata: ["code": "\(error.code)", "reason": "\(error.context)"])
            return Self.json(.init(code: error.code.httpStatus), ErrorResponse(code: error.code.rawValue, message: error.context))
        } catch {
            count("internal_error")
            logger.error("\(operation) failed", metadata: ["error": "\(String(reflecting: error))"])
            return Self.json(.internalServerError, ErrorResponse(code: "internal_error", message: "the server could not complete the request"))
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
