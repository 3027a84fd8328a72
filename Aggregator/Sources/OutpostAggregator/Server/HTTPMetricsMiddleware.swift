import HTTPTypes
import Hummingbird

/// Counts every request and its duration under the route template that took it
/// (`/api/v1/devices/{id}`, never the raw path, so the series stay few), its method and
/// status class; `unmatched` for requests no route took. Added to the router before any
/// route, so it wraps them all and the not-found responder too.
///
/// The duration ends at the response's head: a streamed body (live events, a file) is not in it.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: AggregatorMetrics

    /// The route label for a context's endpoint path (Hummingbird calls an unmatched request's `NotFound`).
    static func route(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound", !endpointPath.isEmpty else { return "unmatched" }
        return endpointPath
    }

    /// The method label: the standard methods, `other` for anything else a client makes up.
    static func method(_ method: HTTPRequest.Method) -> String {
        standardMethods.contains(method.rawValue) ? method.rawValue : "other"
    }

    private static let standardMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.httpRequest(route: Self.route(context.endpointPath), method: Self.method(request.method), status: response.status.code,
                                duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.httpRequest(route: Self.route(context.endpointPath), method: Self.method(request.method), status: status,
                                duration: ContinuousClock.now - start)
            throw error
        }
    }
}
