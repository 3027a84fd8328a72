import Foundation
import Hummingbird
import Logging

/// Turns every error thrown below it into the one error shape,
/// `{"error": {"code", "message", "requestId"}}`, and logs it with the request id.
///
/// ``APIError`` keeps its status and code. Hummingbird's own `HTTPError`s (an unknown
/// route, a body over the decoder's limit) are mapped onto stable codes. Anything else is
/// a bug or an outage: the caller sees `internal_error` (or `service_unavailable` when
/// PostgreSQL cannot be reached), never the underlying text; the log has the detail.
/// Each refusal counts in `outpost_api_errors_total{code}`.
struct ErrorResponseMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: AggregatorMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error)
            metrics.apiError(code: apiError.code.rawValue)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            } else {
                context.logger.info("request refused", metadata: ["code": "\(apiError.code)", "status": "\(apiError.status.code)"])
            }
            return Self.response(apiError, requestID: context.requestID)
        }
    }

    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return APIError(.contentTooLarge, .bodyTooLarge, "request body too large")
            case .notFound: return APIError(.notFound, .notFound, "no such resource")
            case .methodNotAllowed: return APIError(.methodNotAllowed, .methodNotAllowed, "method not allowed")
            case .unsupportedMediaType: return APIError(.unsupportedMediaType, .unsupportedMediaType, "unsupported content type")
            case .badRequest: return APIError(.badRequest, .badRequest, error.body ?? "bad request")
            default:
                return APIError(error.status, error.status.code >= 500 ? .internalError : .badRequest, error.status.reasonPhrase)
            }
        case let error as StoreError where error.code == .unavailable || PostgresPool.isTransient(error):
            return APIError(.serviceUnavailable, .unavailable, "the database is unavailable; retry shortly")
        default:
            if String(reflecting: error).contains("PSQLError"), String(reflecting: error).contains("connection") {
                return APIError(.serviceUnavailable, .unavailable, "the database is unavailable; retry shortly")
            }
            return APIError(.internalServerError, .internalError, "internal error")
        }
    }

    static func response(_ error: APIError, requestID: String) -> Response {
        let body = ErrorBody(error: .init(code: error.code.rawValue, message: error.message, requestId: requestID))
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        var headers = error.headers
        headers[.contentType] = "application/json"
        headers[.requestID] = requestID
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
