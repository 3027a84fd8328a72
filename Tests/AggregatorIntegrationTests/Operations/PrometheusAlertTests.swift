import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostAggregator
import OutpostSupport
import Testing
import TestHarness

/// The shipped alert rules in Debian's real Prometheus, scraping a real aggregator over TLS
/// with the `/metrics` token, on 127.0.0.1: after a kill -9 of an agent, `OutpostDeviceOffline`
/// goes pending and then fires within its `for:` window plus one scrape interval.
@Suite("Operations: alert rules in a real Prometheus", .serialized, .timeLimit(.minutes(4)))
struct PrometheusAlertTests {
    /// The test shortens the rule's `for: 10m` to this; the expression is the shipped one.
    static let forWindow = 10
    static let scrapeInterval = 2

    @Test("kill -9 of an agent: OutpostDeviceOffline pending, then firing after its for: window, within for + one scrape interval of going pending")
    func offlineAlertFires() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-prometheus")
        defer { directory.remove() }
        let token = "prometheus-scrape-token-0123456789"
        try SecureFile.write(token + "\n", to: directory.file("metrics.token"), mode: 0o600)
        try await FleetFixture.with(configure: { $0.http.metricsTokenFile = directory.file("metrics.token") }) { fleet in
            let shipped = try String(contentsOf: OperationsMetricsTests.root.appendingPathComponent("packaging/prometheus/outpost.rules.yml"),
                                     encoding: .utf8)
            let rules = try Self.shortened(shipped, alert: "OutpostDeviceOffline", to: "\(Self.forWindow)s")
            try rules.write(toFile: directory.file("outpost.rules.yml"), atomically: true, encoding: .utf8)
            let port = try FreePort.next()
            try """
                global:
                  scrape_interval: \(Self.scrapeInterval)s
                  evaluation_interval: \(Self.scrapeInterval)s
                rule_files: [\(directory.file("outpost.rules.yml"))]
                scrape_configs:
                  - job_name: outpost-aggregator
                    scheme: https
                    tls_config: {ca_file: \(fleet.broker.identity.caFile)}
                    authorization: {credentials_file: \(directory.file("metrics.token"))}
                    static_configs: [{targets: ["127.0.0.1:\(fleet.configuration.http.port)"]}]
                """.write(toFile: directory.file("prometheus.yml"), atomically: true, encoding: .utf8)
            let prometheus = try ServerProcess(
                name: "prometheus", executable: try locateTool("prometheus"),
                arguments: ["--config.file", directory.file("prometheus.yml"), "--storage.tsdb.path", directory.file("tsdb"),
                            "--web.listen-address", "127.0.0.1:\(port)"],
                logPath: directory.file("prometheus.log"))
            do {
                try await Self.watch(fleet: fleet, prometheus: prometheus, port: port)
            } catch {
                print("--- prometheus log (tail) ---\n\(prometheus.log.suffix(3_000))")
                _ = await prometheus.stop()
                throw error
            }
            _ = await prometheus.stop()
        }
    }

    static func watch(fleet: FleetFixture, prometheus: ServerProcess, port: Int) async throws {
        func query(_ path: String) async throws -> [String: Any] {
            let response = try await fleet.http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 22)
            return (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["data"] as? [String: Any] ?? [:]
        }
        func offlineAlert() async throws -> String? {
            let alerts = try await query("/api/v1/alerts")["alerts"] as? [[String: Any]] ?? []
            return alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "OutpostDeviceOffline" }?["state"] as? String
        }

        let agent = try await fleet.startAgent("meter-alert")
        // Prometheus scrapes the aggregator (over TLS, with the token) and sees the device online.
        try await waitUntil(timeout: .seconds(90), every: .milliseconds(500), "Prometheus sees meter-alert online") {
            guard prometheus.isRunning else { throw HarnessError("prometheus exited: \(prometheus.log.suffix(3_000))") }
            let result = (try? await query("/api/v1/query?query=max(outpost_devices%7Bstatus%3D%22online%22%7D)"))?["result"] as? [[String: Any]]
            return (result?.first?["value"] as? [Any])?.last as? String == "1"
        }
        #expect(try await offlineAlert() == nil)

        let killed = ContinuousClock.now
        #expect(kill(agent.pid, SIGKILL) == 0)
        var pendingAt: ContinuousClock.Instant?
        var firingAt: ContinuousClock.Instant?
        try await waitUntil(timeout: .seconds(90), every: .milliseconds(250), "OutpostDeviceOffline firing") {
            switch try await offlineAlert() {
            case "pending": if pendingAt == nil { pendingAt = .now }
            case "firing": firingAt = .now
            default: break
            }
            return firingAt != nil
        }
        let pending = try #require(pendingAt, "the alert went pending before firing")
        let firing = try #require(firingAt)
        // Firing needs the condition true over the whole for: window: never sooner than that
        // less one evaluation interval after we first saw it pending (we poll, it evaluates).
        #expect(firing - pending >= .seconds(Self.forWindow - Self.scrapeInterval), "pending \(pending - killed), firing \(firing - killed)")
        // ...and no later than the window plus a scrape interval, plus our polling and evaluation slack.
        #expect(firing - pending <= .seconds(Self.forWindow + Self.scrapeInterval * 3), "pending \(pending - killed), firing \(firing - killed)")
        print("prometheus alert: kill -9 → pending after \(pending - killed), firing after \(firing - killed) (for: \(Self.forWindow)s, scrape \(Self.scrapeInterval)s)")
    }

    /// The rules with one alert's `for:` replaced; throws when the alert or its `for:` is not there.
    static func shortened(_ rules: String, alert: String, to window: String) throws -> String {
        var lines = rules.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasSuffix("alert: \(alert)") }),
              let line = lines[start...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("for:") })
        else { throw HarnessError("no for: of \(alert) in the rules") }
        let indent = lines[line].prefix { $0 == " " }
        lines[line] = indent + "for: \(window)"
        return lines.joined(separator: "\n")
    }
}
