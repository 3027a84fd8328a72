import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOSSL

/// Builds the aggregator's HTTPS server: TLS always, bound to the configured address
/// (loopback by default), with the routes of every ``RouteProvider``.
///
/// HTTP/2 where the client offers it (ALPN), HTTP/1.1 otherwise. A browser opens at most six
/// HTTP/1.1 connections to one host, and every console tab holds one for its live events, so
/// over HTTP/1.1 alone a sixth tab left the others' requests waiting; HTTP/2 carries them all
/// on one connection.
public enum HTTPServer {
    /// The TLS settings: the server certificate, and optionally client certificates from
    /// `clientCaFile` (requested but not required, so enrollment works without one and
    /// renewal can insist on one).
    public static func tlsConfiguration(_ settings: HTTPSettings) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCA = settings.clientCaFile {
            tls.trustRoots = .file(clientCA)
            tls.certificateVerification = .optionalVerification
        }
        return tls
    }

    /// The HTTPS application: ``router(providers:metrics:)`` served over TLS only, HTTP/2 or HTTP/1.1.
    public static func build(
        settings: HTTPSettings, providers: [any RouteProvider], metrics: AggregatorMetrics, logger: Logger
    ) throws -> some ApplicationProtocol {
        Application(
            router: router(providers: providers, metrics: metrics),
            server: try .http2Upgrade(tlsConfiguration: tlsConfiguration(settings)),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "outpost-aggregator"),
            logger: logger)
    }

    /// The routes of every provider with the server-wide middleware, without a listener, so
    /// tests can drive it in process (HummingbirdTesting's `.router`).
    ///
    /// Requests no route takes get 405 with `Allow` on a known path and 404 elsewhere, in
    /// the admin API's error shape (see ``UnmatchedRouteMiddleware``), counted in `metrics`.
    public static func router(providers: [any RouteProvider], metrics: AggregatorMetrics) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        // Before any route: it wraps every route and the not-found responder.
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
        for provider in providers { provider.addRoutes(to: router) }
        // Router middleware added after the routes wraps only the not-found responder.
        router.add(middleware: RequestIDMiddleware())
            .add(middleware: SecurityHeadersMiddleware())
            .add(middleware: ErrorResponseMiddleware(metrics: metrics))
            .add(middleware: UnmatchedRouteMiddleware(table: RouteTable(router.routes.map { ($0.path.description, $0.method) })))
        return router
    }
}
