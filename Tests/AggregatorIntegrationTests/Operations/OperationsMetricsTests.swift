import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostAggregator
import OutpostSupport
import Testing
import TestHarness

/// `/metrics` of the aggregator as `serve` wires it, with a real agent, broker and PostgreSQL:
/// every metric name `docs/` mention, every series the Grafana dashboards and the alert rules
/// query, is in a live scrape; the ones the actions here move are non-zero.
@Suite("Operations: /metrics against docs, dashboards and alert rules", .serialized, .timeLimit(.minutes(4)))
struct OperationsMetricsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Names in `docs/` that match the metric pattern but are SQL functions, notification channels or the broker plugin.
    static let notMetrics: Set<String> = ["outpost_ensure_readings_partition", "outpost_drop_readings_before", "outpost_commands",
                                            "outpost_subscribe_guard", "outpost_store_readings", "outpost_apply_states",
                                            "outpost_backfill_reading_hours", "outpost_rebuild_reading_hours", "outpost_trim_reading_hours"]

    /// Families that appear only once their event happened, which needs a fault this test does
    /// not inject; the named test moves each and asserts it (checked: the file names the metric).
    static let exercisedElsewhere: [String: String] = [
        "outpost_ingest_rejected_total": "Tests/AggregatorIntegrationTests/HostileDeviceTests.swift",
        "outpost_ingest_rejected_readings_total": "Tests/AggregatorIntegrationTests/IngestEndToEndTests.swift",
        "outpost_ingest_dead_lettered_total": "Tests/AggregatorIntegrationTests/WriteIsolationTests.swift",
        "outpost_live_events_total": "Tests/AggregatorIntegrationTests/Live/LiveViewEndToEndTests.swift",
        "outpost_camera_bitrate_kbps": "Tests/AggregatorIntegrationTests/PresenceTests.swift",
        "outpost_camera_loss_ratio": "Tests/AggregatorIntegrationTests/PresenceTests.swift",
        "outpost_camera_stats_timestamp_seconds": "Tests/AggregatorIntegrationTests/PresenceTests.swift",
        // Recording (off in this fleet) is measured by its own suites.
        "outpost_recorder_restarts_total": "Tests/AggregatorIntegrationTests/Recordings/RecordingEndToEndTests.swift",
        "outpost_recorder_orphans_ended_total": "Tests/AggregatorIntegrationTests/Recordings/OrphanedEngineTests.swift",
        "outpost_recorders_running": "Tests/AggregatorIntegrationTests/Recordings/RecordingEndToEndTests.swift",
        "outpost_recordings_segments_total": "Tests/AggregatorIntegrationTests/Recordings/RecordingEndToEndTests.swift",
        "outpost_recordings_deleted_total": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_deleted_bytes_total": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_bytes": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_free_bytes": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_floor_bytes": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_below_floor": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
        "outpost_recordings_oldest_segment_timestamp_seconds": "Tests/AggregatorIntegrationTests/Recordings/RetentionServiceTests.swift",
    ]

    /// Families this test's actions move above zero (summed over their series).
    static let movedHere = [
        "outpost_ingest_readings_stored_total", "outpost_ingest_acks_published_total", "outpost_ingest_batch_rows_count",
        "outpost_ingest_commit_seconds_count", "outpost_ingest_ack_lag_seconds_count", "outpost_devices_online", "outpost_devices",
        "outpost_commands_total", "outpost_api_errors_total", "outpost_identity_requests_total", "outpost_http_requests_total",
        "outpost_http_request_duration_seconds_count", "outpost_api_event_subscribers", "outpost_certificate_expiry_timestamp_seconds",
        "outpost_crl_next_update_timestamp_seconds", "outpost_build_info", "outpost_disk_free_bytes", "outpost_disk_free_ratio",
        "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_cpu_seconds_total", "process_start_time_seconds",
    ]

    @Test("a live scrape holds every documented metric, every dashboard and alert series; the actions move theirs; the token guards /metrics")
    func liveScrape() async throws {
        let directory = try TemporaryDirectory()
        let token = "metrics-token-0123456789"
        try SecureFile.write(token + "\n", to: directory.file("metrics.token"), mode: 0o600)
        try await FleetFixture.with(configure: { $0.http.metricsTokenFile = directory.file("metrics.token") }) { fleet in
            let base = "https://127.0.0.1:\(fleet.configuration.http.port)"
            func get(_ path: String, bearer: String?) async throws -> (status: Int, body: String) {
                var request = HTTPClientRequest(url: base + path)
                if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
                let response = try await fleet.http.execute(request, timeout: .seconds(30))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 22)))
            }
            #expect(try await get("/metrics", bearer: nil).status == 401)
            #expect(try await get("/metrics", bearer: token + "x").status == 401)

            _ = try await fleet.startAgent("meter-ops")
            try await waitUntil(timeout: .seconds(60), "readings stored and the device online") {
                (metricValue(fleet.aggregator.metrics.render(), "outpost_ingest_readings_stored_total") ?? 0) > 0
                    && (metricValue(fleet.aggregator.metrics.render(), "outpost_devices_online") ?? 0) >= 1
            }
            let admin = try await fleet.apiKey(.admin)
            let stream = try await fleet.api.open("/api/v1/events", token: admin)
            #expect(stream.reply.status == 200)
            let events = EventStreamReader(stream.stream, path: "/api/v1/events", validator: fleet.api.validator)
            defer { events.cancel() }
            #expect(try await fleet.api.send(.GET, "/api/v1/users").status == 401)
            #expect(try await get("/api/v1/ca", bearer: nil).status == 200)
            let command = try await fleet.api.send(.POST, "/api/v1/devices/meter-ops/commands", token: admin, json: ["name": "ping"])
            #expect(command.status == 201, "\(command.text)")
            try await waitUntil(timeout: .seconds(30), "the ping command succeeded") {
                (metricValue(fleet.aggregator.metrics.render(), "outpost_commands_total", ["status": "succeeded"]) ?? 0) >= 1
            }

            let scrape = try await get("/metrics", bearer: token)
            #expect(scrape.status == 200)
            let series = Self.series(scrape.body)
            let names = Set(series.map(\.name))

            // Every metric the docs mention.
            let documented = try Self.documentedNames()
            #expect(documented.count >= 30, "docs mention \(documented.count) metric names")
            for name in documented.sorted() {
                let present = names.contains(name) || names.contains(name + "_count")
                if let test = Self.exercisedElsewhere[name] {
                    let source = try String(contentsOf: Self.root.appendingPathComponent(test), encoding: .utf8)
                    #expect(source.contains(name), "\(test) does not assert \(name)")
                } else {
                    #expect(present, "\(name) is in docs/ but not in a live scrape")
                }
            }
            // The actions above moved these.
            for name in Self.movedHere {
                let total = series.filter { $0.name == name }.reduce(0) { $0 + $1.value }
                #expect(total > 0, "\(name) is \(total) after the action that should move it")
            }
            #expect(metricValue(scrape.body, "outpost_http_requests_total", ["route": "/api/v1/users", "method": "GET", "status_class": "4xx"])
                    == 1)
            #expect(metricValue(scrape.body, "outpost_api_event_subscribers") == 1)
            for certificate in ["ca", "https", "mqtt_client", "broker"] {
                let expiry = try #require(metricValue(scrape.body, "outpost_certificate_expiry_timestamp_seconds", ["certificate": certificate]),
                                          "\(certificate) expiry")
                #expect(expiry > Date().timeIntervalSince1970, "\(certificate) expires in the future")
            }

            // Every series the dashboards and alert rules query.
            for (source, queried) in try Self.queriedNames() {
                for name in queried.sorted() where !names.contains(name) {
                    let test = Self.exercisedElsewhere[name] ?? Self.exercisedElsewhere[Self.family(name)]
                    #expect(test != nil, "\(source) queries \(name), which a live scrape does not have")
                }
            }
            print("operations scrape: \(series.count) series in \(names.count) names; \(documented.count) documented names checked")
        }
    }

    /// Sample lines of an exposition: name (without labels) and value.
    static func series(_ text: String) -> [(name: String, value: Double)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { return nil }
            let name = line.prefix { $0 != "{" && $0 != " " }
            return (String(name), value)
        }
    }

    /// `outpost_…` and `process_…` names in backticks in `docs/*.md`, labels dropped.
    static func documentedNames() throws -> Set<String> {
        let docs = root.appendingPathComponent("docs")
        var names: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: docs.path) where file.hasSuffix(".md") {
            let text = try String(contentsOf: docs.appendingPathComponent(file), encoding: .utf8)
            for quoted in text.split(separator: "`", omittingEmptySubsequences: false).enumerated() where quoted.offset % 2 == 1 {
                names.formUnion(metricTokens(String(quoted.element)))
            }
        }
        return names.subtracting(notMetrics)
    }

    /// Metric names in each dashboard's queries and in the alert rules' expressions.
    static func queriedNames() throws -> [(String, Set<String>)] {
        var result: [(String, Set<String>)] = []
        let grafana = root.appendingPathComponent("packaging/grafana")
        for file in try FileManager.default.contentsOfDirectory(atPath: grafana.path).sorted() where file.hasSuffix(".json") {
            let board = try JSONSerialization.jsonObject(with: Data(contentsOf: grafana.appendingPathComponent(file))) as? [String: Any]
            let panels = board?["panels"] as? [[String: Any]] ?? []
            let exprs = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
            #expect(!exprs.isEmpty, "\(file) has queries")
            result.append((file, exprs.reduce(into: Set<String>()) { $0.formUnion(metricTokens($1)) }))
        }
        let rules = try String(contentsOf: root.appendingPathComponent("packaging/prometheus/outpost.rules.yml"), encoding: .utf8)
        let exprs = rules.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
            .filter { !$0.contains("summary:") }.joined(separator: "\n")
        result.append(("outpost.rules.yml", metricTokens(exprs)))
        return result
    }

    /// Identifiers starting `outpost_` or `process_` (PromQL or prose).
    static func metricTokens(_ text: String) -> Set<String> {
        var tokens: Set<String> = []
        var current = ""
        for character in text + " " {
            if character.isLetter || character.isNumber || character == "_" {
                current.append(character)
            } else {
                // A name ending in `_` is a family written as `outpost_recordings_*`, not a metric.
                if (current.hasPrefix("outpost_") || current.hasPrefix("process_")) && !current.hasSuffix("_") { tokens.insert(current) }
                current = ""
            }
        }
        return tokens
    }

    /// A histogram series' family (`…_bucket`, `…_sum`, `…_count` dropped).
    static func family(_ name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
        return name
    }
}
