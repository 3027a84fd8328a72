import Hummingbird

/// The request context of every route on the aggregator's HTTPS server.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// A part of the aggregator that serves HTTP routes (health and metrics, enrollment, the admin API).
public protocol RouteProvider: Sendable {
    func addRoutes(to router: Router<AppRequestContext>)
}
