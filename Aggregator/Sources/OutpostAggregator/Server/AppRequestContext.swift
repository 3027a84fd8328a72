import Hummingbird
import NIOCore

/// The request context of every route on the aggregator's HTTPS server.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address, for rate limits and the audit log.
    public let remoteAddress: String?
    /// The request id (`X-Request-Id`), set by ``RequestIDMiddleware``; empty outside the admin API.
    public var requestID: String = ""
    /// Who is calling, set by ``AuthenticationMiddleware``; nil when anonymous.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// A part of the aggregator that serves HTTP routes (health and metrics, enrollment, the admin API).
public protocol RouteProvider: Sendable {
    func addRoutes(to router: Router<AppRequestContext>)
}
