import Foundation
import HTTPTypes
import OutpostSupport
import Testing
import TestHarness
@testable import OutpostAggregator

/// The operations pieces that need no server: `/proc` parsing, route and method labels, the
/// `/metrics` token check, certificate expiry, and what the registry renders for them.
@Suite("Operations metrics, pure parts")
struct OperationsUnitTests {
    /// A `/proc/self/stat` line whose command name holds a space and a parenthesis.
    static let stat = "4242 (outpost (agg)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 9 0 123456 300000000 5000 "
        + "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"

    @Test("process sample: CPU seconds, start time and resident memory from /proc/self/stat and btime")
    func processSample() throws {
        let sample = try #require(ProcessSample.parse(
            stat: Self.stat, systemStat: "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n", clockTicks: 100, pageSize: 4096,
            openDescriptors: 12, maxDescriptors: 1024))
        #expect(sample.cpuSeconds == 4.0)
        #expect(sample.startTime == 1_700_000_000 + 1234.56)
        #expect(sample.residentBytes == 5000 * 4096)
        #expect(sample.openDescriptors == 12 && sample.maxDescriptors == 1024)
        #expect(ProcessSample.parse(stat: "4242 (x) S 1 2", systemStat: "btime 1", clockTicks: 100, pageSize: 4096,
                                    openDescriptors: 0, maxDescriptors: 0) == nil)
        #expect(ProcessSample.parse(stat: Self.stat, systemStat: "cpu 1", clockTicks: 100, pageSize: 4096,
                                    openDescriptors: 0, maxDescriptors: 0) == nil)
        let now = try #require(ProcessSample.current())
        #expect(now.residentBytes > 1_000_000 && now.openDescriptors > 2)
        #expect(abs(now.startTime - Date().timeIntervalSince1970) < 86_400 * 30)
    }

    @Test("route and method labels are bounded: templates, never raw paths; unknown methods are 'other'")
    func labels() {
        #expect(HTTPMetricsMiddleware.route("/api/v1/devices/{id}") == "/api/v1/devices/{id}")
        #expect(HTTPMetricsMiddleware.route("NotFound") == "unmatched")
        #expect(HTTPMetricsMiddleware.route(nil) == "unmatched")
        #expect(HTTPMetricsMiddleware.method(.get) == "GET")
        #expect(HTTPMetricsMiddleware.method(HTTPRequest.Method("BREW")!) == "other")
    }

    @Test("the /metrics bearer token: exact match only")
    func bearer() {
        let token = "0123456789abcdef0123"
        #expect(HealthRoutes.authorized("Bearer \(token)", token: token))
        #expect(!HealthRoutes.authorized(nil, token: token))
        #expect(!HealthRoutes.authorized(token, token: token))
        #expect(!HealthRoutes.authorized("Bearer \(token)x", token: token))
        #expect(!HealthRoutes.authorized("Bearer 0123456789abcdef0124", token: token))
        #expect(!HealthRoutes.authorized("Basic \(token)", token: token))
    }

    @Test("http.metrics_token_file: read and trimmed; a short or missing token is a config error naming the key")
    func tokenFile() throws {
        let directory = try TemporaryDirectory()
        var settings = HTTPSettings(certFile: "c", keyFile: "k")
        #expect(try settings.metricsToken() == nil)
        try "0123456789abcdef0123\n".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        settings.metricsTokenFile = directory.file("token")
        #expect(chmod(directory.file("token"), 0o644) == 0)
        #expect { try settings.metricsToken() } throws: { ($0 as? ConfigError)?.code == .invalidValue }
        #expect(chmod(directory.file("token"), 0o640) == 0)
        #expect(try settings.metricsToken() == "0123456789abcdef0123")
        try "short".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        #expect(chmod(directory.file("token"), 0o600) == 0)
        #expect { try settings.metricsToken() } throws: { ($0 as? ConfigError)?.code == .invalidValue && ($0 as? ConfigError)?.key == "http.metrics_token_file" }
        settings.metricsTokenFile = directory.file("absent")
        #expect { try settings.metricsToken() } throws: { ($0 as? ConfigError)?.code == .unreadableFile }
    }

    @Test("certificate expiry: the first certificate of a PEM file, as openssl wrote it")
    func certificateExpiry() async throws {
        let directory = try TemporaryDirectory()
        _ = try await runTool("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3",
                                            "-subj", "/CN=expiry", "-keyout", directory.file("k.pem"), "-out", directory.file("c.pem")])
        let pem = try String(contentsOfFile: directory.file("c.pem"), encoding: .utf8)
        let notAfter = try #require(ExpiryWatch.notAfter(pem: "junk before\n" + pem + pem))
        #expect(abs(notAfter.timeIntervalSinceNow - 3 * 86_400) < 120)
        #expect(ExpiryWatch.notAfter(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") == nil)
        let watch = ExpiryWatch(certificates: [.init(name: "https", path: directory.file("c.pem")), .init(name: "ca", path: directory.file("absent"))],
                                crlPath: directory.file("absent.crl"))
        let read = watch.read()
        #expect(Array(read.certificates.keys) == ["https"])
        #expect(read.crlNextUpdate == nil)
    }

    @Test("the registry renders the new families with their labels and values")
    func rendered() {
        let metrics = AggregatorMetrics()
        metrics.httpRequest(route: "/health", method: "GET", status: 503, duration: .milliseconds(3))
        metrics.httpRequest(route: "/health", method: "GET", status: 200, duration: .milliseconds(3))
        metrics.httpRequest(route: "/health", method: "GET", status: 204, duration: .milliseconds(3))
        metrics.eventSubscribers(2)
        metrics.expiries(certificates: ["ca": Date(timeIntervalSince1970: 2_000_000_000)], crlNextUpdate: Date(timeIntervalSince1970: 1_900_000_000))
        metrics.fleet([FleetGroup(kind: "meter", status: "online", devices: 3, bufferDepth: 7, dropped: 1),
                       FleetGroup(kind: "meter", status: "revoked", devices: 1, bufferDepth: 0, dropped: 4)])
        metrics.disk("state", DiskSpace(freeBytes: 25, totalBytes: 100))
        let text = metrics.render()
        #expect(metricValue(text, "outpost_http_requests_total", ["route": "/health", "status_class": "2xx"]) == 2)
        #expect(metricValue(text, "outpost_http_requests_total", ["route": "/health", "status_class": "5xx"]) == 1)
        #expect(metricValue(text, "outpost_http_request_duration_seconds_count", ["route": "/health", "status_class": "2xx"]) == 2)
        #expect(metricValue(text, "outpost_api_event_subscribers") == 2)
        #expect(metricValue(text, "outpost_certificate_expiry_timestamp_seconds", ["certificate": "ca"]) == 2_000_000_000)
        #expect(metricValue(text, "outpost_crl_next_update_timestamp_seconds") == 1_900_000_000)
        #expect(metricValue(text, "outpost_devices", ["kind": "meter", "status": "online"]) == 3)
        #expect(metricValue(text, "outpost_devices", ["kind": "meter", "status": "revoked"]) == 1)
        #expect(metricValue(text, "outpost_devices", ["kind": "camera", "status": "offline"]) == 0)
        #expect(metricValue(text, "outpost_devices_online") == 3)
        #expect(metricValue(text, "outpost_devices_buffer_dropped", ["kind": "meter"]) == 5)
        #expect(metricValue(text, "outpost_disk_free_ratio", ["directory": "state"]) == 0.25)
        #expect(metricValue(text, "outpost_build_info", ["version": BuildInfo.version]) == 1)
        #expect(!text.contains("deprecated"))
    }

    @Test("process_cpu_seconds_total only grows, by the CPU time used since the last scrape")
    func cpuCounter() {
        let metrics = AggregatorMetrics()
        var sample = ProcessSample(residentBytes: 1, cpuSeconds: 2.5, startTime: 10, openDescriptors: 3, maxDescriptors: 4)
        metrics.record(sample)
        #expect(metricValue(metrics.render(), "process_cpu_seconds_total") == 2.5)
        sample.cpuSeconds = 3.0
        metrics.record(sample)
        #expect(metricValue(metrics.render(), "process_cpu_seconds_total") == 3.0)
        sample.cpuSeconds = 1.0
        metrics.record(sample)
        #expect(metricValue(metrics.render(), "process_cpu_seconds_total") == 3.0)
        #expect(metricValue(metrics.render(), "process_start_time_seconds") == 10)
    }

    @Test("/health levels: degraded (200) for retrying writes, near expiry, low disk; failing (503) for outages, expiry, full disk")
    func healthLevels() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var report = HealthReport(databaseUp: true, brokerUp: true, failingWrites: [], now: now)
        report.certificates = ["ca": now.addingTimeInterval(365 * 86_400)]
        report.crlNextUpdate = now.addingTimeInterval(3 * 86_400)
        report.disks = ["state": DiskSpace(freeBytes: 50, totalBytes: 100)]
        #expect(report.level == .ok && report.httpStatus == 200)
        #expect(report.json == #"{"status":"ok","database":"ok","broker":"ok","failingWrites":[],"problems":[]}"#)

        var degraded = report
        degraded.failingWrites = ["readings"]
        degraded.certificates["https"] = now.addingTimeInterval(6 * 86_400)
        degraded.crlNextUpdate = now.addingTimeInterval(3_600)
        degraded.disks["state"] = DiskSpace(freeBytes: 5, totalBytes: 100)
        #expect(degraded.level == .degraded && degraded.httpStatus == 200)
        #expect(degraded.findings.map(\.problem) == ["certificate_expiring:https", "crl_expiring", "disk_low:state", "write_failing:readings"])
        #expect(degraded.json.hasPrefix(#"{"status":"degraded","database":"ok","broker":"ok","failingWrites":["readings"],"#))

        for change in [{ (r: inout HealthReport) in r.databaseUp = false }, { $0.brokerUp = false },
                       { $0.certificates["mqtt_client"] = now.addingTimeInterval(-1) }, { $0.crlNextUpdate = now },
                       { $0.disks["state"] = DiskSpace(freeBytes: 1, totalBytes: 100) }] as [(inout HealthReport) -> Void] {
            var failing = degraded
            change(&failing)
            #expect(failing.level == .failing && failing.httpStatus == 503, "\(failing.findings.map(\.problem))")
        }
        var unreachable = report
        unreachable.databaseUp = false
        #expect(unreachable.json == #"{"status":"failing","database":"unreachable","broker":"ok","failingWrites":[],"problems":["database_unreachable"]}"#)
    }

    @Test("backup's pg_dump and pg_restore get postgres.tls as libpq settings: mode, CA, client certificate, the name to verify")
    func backupLibpqEnvironment() {
        let plain = PostgresSettings(password: "pw")
        #expect(BackupArchive.libpqEnvironment(plain) == ["PGPASSWORD": "pw", "PGSSLMODE": "disable"])
        #expect(BackupArchive.connection(plain).prefix(2) == ["--host", "127.0.0.1"])

        let tls = PostgresTLSSettings(mode: .verifyFull, caFile: "/etc/pg/ca.pem", certFile: "/etc/pg/client.pem",
                                      keyFile: "/etc/pg/client.key", serverName: "db.example.net")
        let verified = PostgresSettings(host: "10.1.2.3", tls: tls)
        #expect(BackupArchive.libpqEnvironment(verified) == [
            "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/pg/ca.pem", "PGSSLCERT": "/etc/pg/client.pem",
            "PGSSLKEY": "/etc/pg/client.key", "PGHOSTADDR": "10.1.2.3",
        ])
        #expect(BackupArchive.connection(verified).prefix(2) == ["--host", "db.example.net"])

        // A host name cannot be libpq's hostaddr: the certificate is then checked against the host.
        let named = PostgresSettings(host: "pg.internal", tls: tls)
        #expect(BackupArchive.libpqEnvironment(named)["PGHOSTADDR"] == nil)
        #expect(BackupArchive.connection(named).prefix(2) == ["--host", "pg.internal"])
    }
}
