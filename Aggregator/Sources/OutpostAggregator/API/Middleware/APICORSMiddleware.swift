import HTTPTypes
import Hummingbird

/// CORS for the configured origins only (the API sets none by default, so browsers on
/// other sites cannot call it). Preflights from an allowed origin answer 204; requests
/// from any other origin get no CORS headers, which browsers treat as a refusal.
struct APICORSMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowedOrigins.contains(origin) else {
            if request.method == .options { throw APIError(.methodNotAllowed, .methodNotAllowed, "OPTIONS is only for CORS preflight") }
            return try await next(request, context)
        }
        var headers: HTTPFields = [.accessControlAllowOrigin: origin, .vary: "Origin"]
        if request.method == .options {
            headers[.accessControlAllowMethods] = "GET, POST, PATCH, DELETE"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, X-Request-Id, X-API-Key"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers.append(contentsOf: headers)
        response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After"
        return response
    }
}
