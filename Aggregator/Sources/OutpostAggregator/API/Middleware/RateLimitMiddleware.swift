import Hummingbird

/// The general budget: per principal when authenticated, per IP address otherwise.
/// Runs after authentication, so a bad token costs the caller's IP budget.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let key = context.principal.map { "principal:\($0.id)" } ?? "ip:\(context.remoteAddress ?? "unknown")"
        try await limiter.take(key).enforce("requests")
        return try await next(request, context)
    }
}
