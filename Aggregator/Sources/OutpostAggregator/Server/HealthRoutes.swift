import Hummingbird
import NIOCore
import OutpostCommon

/// `GET /health` and `GET /metrics`.
///
/// `/health` answers 200 when PostgreSQL answers a query and the broker connection is
/// up, 503 otherwise, with a JSON body naming each part:
/// `{"status":"ok","database":"ok","broker":"ok","failingWrites":[]}`. A write path
/// (`readings`, `presence`, `commands`) retrying a transient failure is listed in
/// `failingWrites` and makes the status `degraded` until its next write succeeds.
/// `/metrics` is the Prometheus text exposition of ``AggregatorMetrics``; with a token
/// (`http.metrics_token_file`) it answers 401 unless the request carries `Authorization: Bearer {token}`.
public struct HealthRoutes: RouteProvider {
    let database: Database
    let broker: MQTTClient
    let metrics: AggregatorMetrics
    /// The bearer token `/metrics` requires; nil: none.
    let metricsToken: String?

    public init(database: Database, broker: MQTTClient, metrics: AggregatorMetrics, metricsToken: String? = nil) {
        self.database = database
        self.broker = broker
        self.metrics = metrics
        self.metricsToken = metricsToken
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health") { _, _ -> Response in
            let databaseUp = await Self.within(.seconds(3)) { await database.isReachable() }
            let brokerUp = broker.isConnected
            let failing = metrics.failingWritePaths
            let healthy = databaseUp && brokerUp && failing.isEmpty
            let writes = failing.map { "\"\($0)\"" }.joined(separator: ",")
            let body = #"{"status":"\#(healthy ? "ok" : "degraded")","database":"\#(databaseUp ? "ok" : "unreachable")","broker":"\#(brokerUp ? "ok" : "disconnected")","failingWrites":[\#(writes)]}"#
            return Response(
                status: healthy ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { request, _ -> Response in
            if let metricsToken, !Self.authorized(request.headers[.authorization], token: metricsToken) {
                metrics.apiError(code: APIError.Code.unauthenticated.rawValue)
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"metrics\""])
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: await metrics.scrape())))
        }
    }

    /// Whether an `Authorization` header carries `token` as a bearer token (compared in constant time).
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8), expected = Array(token.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// `check`'s answer, or false when it takes longer than `limit`.
    static func within(_ limit: Duration, _ check: @escaping @Sendable () async -> Bool) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await check() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
