import Hummingbird
import NIOCore
import NIOSSL

/// The request context of every route on the aggregator's HTTPS server.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TLS connection the request came on, for the peer's certificate (over HTTP/2 the
    /// request's own channel is a stream of it).
    public let channel: any Channel
    /// The peer's IP address, for rate limits and the audit log.
    public let remoteAddress: String?
    /// The request id (`X-Request-Id`), set by ``RequestIDMiddleware``; empty outside the admin API.
    public var requestID: String = ""
    /// Who is calling, set by ``AuthenticationMiddleware``; nil when anonymous.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel.parent ?? source.channel
        remoteAddress = channel.remoteAddress?.ipAddress
    }

    /// The client certificate the TLS handshake verified against `http.client_ca_file`, or nil
    /// when the client sent none (verification is optional so that enrollment works without one).
    public func peerCertificate() async throws -> NIOSSLCertificate? {
        try await channel.nioSSL_peerCertificate().get()
    }
}

/// A part of the aggregator that serves HTTP routes (health and metrics, enrollment, the admin API).
public protocol RouteProvider: Sendable {
    func addRoutes(to router: Router<AppRequestContext>)
}
