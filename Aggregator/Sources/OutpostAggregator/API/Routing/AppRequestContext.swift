import Hummingbird
import NIOCore
import NIOSSL

/// The request context of every route on the aggregator's HTTPS server.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The channel the request came on: the TLS connection (HTTP/1.1) or one of its streams (HTTP/2).
    public let channel: any Channel
    /// The peer's IP address, for rate limits and the audit log.
    public let remoteAddress: String?
    /// The request id (`X-Request-Id`), set by ``RequestIDMiddleware``; empty outside the admin API.
    public var requestID: String = ""
    /// Who is calling, set by ``AuthenticationMiddleware``; nil when anonymous.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The client certificate the TLS handshake verified against `http.client_ca_file`, or nil
    /// when the client sent none (verification is optional so that enrollment works without one).
    ///
    /// Over HTTP/2 the TLS handler is on the connection, the stream's parent. Over HTTP/1.1 it is
    /// on the request's own channel, whose parent is the listening socket.
    public func peerCertificate() async throws -> NIOSSLCertificate? {
        do {
            return try await channel.nioSSL_peerCertificate().get()
        } catch {
            guard let connection = channel.parent else { throw error }
            return try await connection.nioSSL_peerCertificate().get()
        }
    }
}

/// A part of the aggregator that serves HTTP routes (health and metrics, enrollment, the admin API).
public protocol RouteProvider: Sendable {
    func addRoutes(to router: Router<AppRequestContext>)
}
