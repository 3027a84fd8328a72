import Hummingbird
import NIOCore

/// `GET /health` and `GET /metrics`.
///
/// `/health` answers with a JSON body naming each part and a level, `ok`, `degraded` (200)
/// or `failing` (503), as ``HealthReport`` weighs them:
/// `{"status":"ok","database":"ok","broker":"ok","failingWrites":[],"problems":[]}`.
/// `/metrics` is the Prometheus text exposition of ``AggregatorMetrics``; with a token
/// (`http.metrics_token_file`) it answers 401 unless the request carries `Authorization: Bearer {token}`.
public struct HealthRoutes: RouteProvider {
    let database: Database
    let brokers: BrokerSet
    let metrics: AggregatorMetrics
    /// The bearer token `/metrics` requires; nil: none.
    let metricsToken: String?

    /// The certificates and CRL whose expiry `/health` weighs; nil: none.
    let expiry: ExpiryWatch?
    /// Directories whose file system's free space `/health` weighs, by name.
    let disks: [String: String]

    init(database: Database, brokers: BrokerSet, metrics: AggregatorMetrics, metricsToken: String? = nil, expiry: ExpiryWatch? = nil,
         disks: [String: String] = [:]) {
        self.database = database
        self.brokers = brokers
        self.metrics = metrics
        self.metricsToken = metricsToken
        self.expiry = expiry
        self.disks = disks
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health") { _, _ -> Response in
            let databaseUp = await Self.within(.seconds(3)) { await database.isReachable() }
            let down = brokers.disconnected
            var report = HealthReport(databaseUp: databaseUp, brokerUp: down.count < brokers.members.count, failingWrites: metrics.failingWritePaths)
            if brokers.members.count > 1 { report.brokersDown = down }
            report.ingestStalled = metrics.ingestStalled
            if let expiry {
                let read = expiry.read()
                report.certificates = read.certificates
                report.crlNextUpdate = read.crlNextUpdate
            }
            for (name, path) in disks {
                if let space = DiskSpace.of(path) { report.disks[name] = space }
            }
            return Response(
                status: report.httpStatus == 503 ? .serviceUnavailable : .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: report.json)))
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
