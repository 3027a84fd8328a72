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
/// `/metrics` is the Prometheus text exposition of ``AggregatorMetrics``.
public struct HealthRoutes: RouteProvider {
    let database: Database
    let broker: MQTTClient
    let metrics: AggregatorMetrics

    public init(database: Database, broker: MQTTClient, metrics: AggregatorMetrics) {
        self.database = database
        self.broker = broker
        self.metrics = metrics
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
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
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
