import Hummingbird

/// Refuses a body over `limit` bytes with 413, before any handler reads it: at once when
/// `Content-Length` says so, and while streaming for chunked bodies.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, .bodyTooLarge, "request body exceeds \(limit) bytes")
        }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            do {
                _ = try await request.collectBody(upTo: limit)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw APIError(.contentTooLarge, .bodyTooLarge, "request body exceeds \(limit) bytes")
            }
        }
        return try await next(request, context)
    }
}
