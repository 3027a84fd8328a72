import Foundation
import Logging
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAggregator

/// Devices → real mosquitto (TLS, client certificates, ACL) → the aggregator built by
/// `buildAggregator` → real PostgreSQL.
@Suite("Ingest end to end", .serialized, .timeLimit(.minutes(5)))
struct IngestEndToEndTests {
    @Test("readings from three devices are stored exactly once and acked; presence, /health and /metrics follow")
    func storedExactlyOnce() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            let aggregator = try await fixture.startInProcess(configuration)
            let ids = ["meter-1", "meter-2", "meter-3"]
            try await fixture.addDevices(ids)
            // No re-send by time: a batch re-sent because its ack was slow (a loaded machine) is a
            // duplicate too, and its late second ack would end the wait for the replay's ack early.
            var devices: [TestDevice] = []
            for id in ids { devices.append(try await fixture.device(id, resendAfter: .seconds(300))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in devices { group.addTask { try await device.send(batches: 40, readings: 100) } }
                try await group.waitForAll()
            }
            for device in devices { try await device.waitAllAcked() }
            for device in devices {
                let counts = try await fixture.readingCounts(device.id.rawValue)
                #expect(counts.rows == device.captured, "\(device.id)")
                #expect(counts.distinct == counts.rows, "\(device.id) has duplicates")
            }
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 12_000)
            // The rows sit in today's partition, not the default one.
            #expect(try await fixture.count("SELECT count(*) FROM ONLY readings_default") == 0)
            #expect(metricValue(aggregator.metrics.render(), "outpost_ingest_readings_stored_total") == 12_000)

            // A re-delivery (an ack the agent never got) inserts nothing and is acked again.
            let acksBefore = devices[0].acksReceivedCount
            let replayed = try await devices[0].replayFirstBatch()
            try await devices[0].waitForAcks(timeout: .seconds(20), "the replay acked") { $0 > acksBefore }
            let afterReplay = aggregator.metrics.render()
            #expect(metricValue(afterReplay, "outpost_ingest_readings_duplicate_total") == Double(replayed))
            // Below its buffer's high-water mark: looked up, not retried on a unique violation.
            #expect(metricValue(afterReplay, "outpost_ingest_conflict_retries_total") == 0)
            #expect(metricValue(afterReplay, "outpost_ingest_readings_conflicting_total") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 12_000)

            // Activity marked every device online, with a last-seen time, flushed in batches.
            try await waitUntil(timeout: .seconds(20), "devices online") {
                try await fixture.count("SELECT count(*) FROM devices WHERE status = 'online' AND last_seen IS NOT NULL") == 3
            }
            #expect(try await fixture.count("SELECT count(*) FROM device_status_changes WHERE cause = 'activity' AND status = 'online'") == 3)

            let health = try await fixture.https(configuration, "/health")
            // The test CA issues two-day certificates: serving, but `degraded` until they are renewed.
            #expect(health.hasPrefix(#"{"status":"degraded","database":"ok","broker":"ok","failingWrites":[],"problems":["#), "\(health)")
            #expect(health.contains(#""certificate_expiring:https""#), "\(health)")
            let metrics = try await fixture.https(configuration, "/metrics")
            #expect(metricValue(metrics, "outpost_ingest_readings_stored_total") == 12_000)
            #expect(metricValue(metrics, "outpost_ingest_batch_rows_count").map { $0 >= 1 } == true)
            #expect(metricValue(metrics, "outpost_ingest_commit_seconds_count").map { $0 >= 1 } == true)
            #expect(metricValue(metrics, "outpost_ingest_ack_lag_seconds_count").map { $0 >= 120 } == true)
            try await waitUntil(timeout: .seconds(20), "devices online gauge") {
                metricValue(aggregator.metrics.render(), "outpost_devices_online") == 3
            }
        }
    }

    @Test("a stored (buffer, seq) sent again with another ts: stored once with its first ts, acked, counted on /metrics; also after a restart")
    func repeatWithAnotherTs() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["meter-k"])
            // No re-send by time: a re-sent batch's late second ack would end a wait for a repeat's ack early.
            let device = try await fixture.device("meter-k", resendAfter: .seconds(300))
            try await device.send(batches: 3, readings: 50)
            try await device.waitAllAcked()
            let firstTs = "SELECT count(DISTINCT ts) || '|' || min(ts) FROM readings WHERE device = 'meter-k' AND seq <= 50"
            let stored = try await fixture.psql(firstTs)
            #expect(stored.hasPrefix("1|"))
            let day: Int64 = 86_400_000

            // A day later: another partition.
            var acks = device.acksReceivedCount
            #expect(try await device.replayFirstBatch(shiftingTs: day) == 50)
            try await device.waitForAcks(timeout: .seconds(20), "the repeat acked") { [acks] in $0 > acks }
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 150)
            #expect(try await fixture.psql(firstTs) == stored)
            let metrics = try await fixture.https(configuration, "/metrics")
            #expect(metricValue(metrics, "outpost_ingest_readings_conflicting_total") == 50)
            #expect(metricValue(metrics, "outpost_ingest_readings_stored_total") == 150)

            // Two repeats back to back (in one batch or two; yesterday's partition and the
            // default one): both acked, neither stored. (A ts over a day ahead is refused at decode.)
            acks = device.acksReceivedCount
            _ = try await device.replayFirstBatch(shiftingTs: -day)
            _ = try await device.replayFirstBatch(shiftingTs: -3 * day)
            try await waitUntil(timeout: .seconds(20), "both repeats counted") {
                metricValue(aggregator.metrics.render(), "outpost_ingest_readings_conflicting_total") == 150
            }
            try await device.waitForAcks(timeout: .seconds(20), "the repeats acked") { [acks] in $0 > acks }
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 150)
            #expect(try await fixture.psql(firstTs) == stored)

            // After a restart the marks are still in the database.
            await fixture.stopInProcess()
            let restarted = try await fixture.startInProcess(configuration)
            acks = device.acksReceivedCount
            try await waitUntil(timeout: .seconds(30), every: .seconds(1), "the repeat acked after the restart") {
                if device.acksReceivedCount > acks { return true }
                _ = try await device.replayFirstBatch(shiftingTs: day)
                return false
            }
            let repeats = metricValue(restarted.metrics.render(), "outpost_ingest_readings_conflicting_total") ?? 0
            #expect(repeats >= 50 && repeats.truncatingRemainder(dividingBy: 50) == 0)
            #expect(metricValue(restarted.metrics.render(), "outpost_ingest_readings_stored_total") == 0)
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 150)
            #expect(try await fixture.psql(firstTs) == stored)
        }
    }

    @Test("each bad message is refused and counted under its reason; the good readings sent alongside are all stored")
    func badMessages() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["good-1", "revoked-1"])
            try await fixture.psql("UPDATE devices SET revoked_at = now() WHERE id = 'revoked-1'")
            let good = try await fixture.device("good-1")
            let stranger = try await fixture.device("stranger-1")
            let revoked = try await fixture.device("revoked-1")
            let now = WireClock.nowMs()
            let buffer = BufferID.random().hex
            func batch(_ device: String, _ readings: String) -> [UInt8] {
                Array(#"{"v":1,"device":"\#(device)","buffer":"\#(buffer)","readings":[\#(readings)]}"#.utf8)
            }
            let reading = #"{"seq":1,"ts":\#(now),"metric":"power_w","value":1.5}"#
            // (what, publisher, topic kind, payload, counted kind, reason)
            let cases: [(String, TestDevice, Topic.Kind, [UInt8], String, String)] = [
                ("not JSON", good, .telemetry, Array("{not json".utf8), "telemetry", "malformed_json"),
                ("names another device", good, .telemetry, batch("other-1", reading), "telemetry", "device_mismatch"),
                ("version 2", good, .telemetry, Array(#"{"v":2,"device":"good-1"}"#.utf8), "telemetry", "unsupported_version"),
                ("no readings", good, .telemetry, batch("good-1", ""), "telemetry", "empty_batch"),
                ("over 256 KiB", good, .telemetry, Array(repeating: UInt8(ascii: " "), count: 300_000), "telemetry", "payload_too_large"),
                ("bad metric", good, .telemetry, batch("good-1", #"{"seq":1,"ts":\#(now),"metric":"Power W","value":1}"#),
                 "telemetry", "invalid_metric"),
                ("from 2019", good, .telemetry, batch("good-1", #"{"seq":1,"ts":1500000000000,"metric":"power_w","value":1}"#),
                 "telemetry", "timestamp_out_of_range"),
                ("seq 0", good, .telemetry, batch("good-1", #"{"seq":0,"ts":\#(now),"metric":"power_w","value":1}"#),
                 "telemetry", "invalid_seq"),
                ("string value", good, .telemetry, batch("good-1", #"{"seq":1,"ts":\#(now),"metric":"power_w","value":"1"}"#),
                 "telemetry", "wrong_type"),
                ("unknown device", stranger, .telemetry, batch("stranger-1", reading), "telemetry", "unknown_device"),
                ("revoked device", revoked, .telemetry, batch("revoked-1", reading), "telemetry", "revoked_device"),
                ("state without fields", good, .state, Array(#"{"v":1}"#.utf8), "state", "missing_field"),
                ("event of a bad kind", good, .events, Array(#"{"v":1,"device":"good-1","ts":\#(now),"kind":"Bad","data":{}}"#.utf8),
                 "events", "invalid_event_kind"),
                ("result for no command", good, .cmdResult, Array(#"{"v":1,"id":"c-none","ok":true}"#.utf8),
                 "cmd_result", "unknown_command"),
            ]
            try await good.send(batches: 10, readings: 50)
            for (_, publisher, kind, payload, _, _) in cases {
                try await publisher.client.publish(Topic(publisher.id, kind).name, payload: payload)
                try await good.send(batches: 2, readings: 50)
            }
            try await good.send(batches: 10, readings: 50)
            try await good.waitAllAcked()

            var expected: [String: Double] = [:]
            for (_, _, _, _, kind, reason) in cases { expected["\(kind)/\(reason)", default: 0] += 1 }
            try await waitUntil(timeout: .seconds(20), "every refusal counted") {
                let text = aggregator.metrics.render()
                return cases.allSatisfy { metricValue(text, "outpost_ingest_rejected_total", ["kind": $0.4, "reason": $0.5]) != nil }
            }
            let text = aggregator.metrics.render()
            for (what, _, _, _, kind, reason) in cases {
                #expect(metricValue(text, "outpost_ingest_rejected_total", ["kind": kind, "reason": reason]) == expected["\(kind)/\(reason)"],
                        "\(what)")
            }
            #expect(metricValue(text, "outpost_ingest_rejected_readings_total", ["reason": "unknown_device"]) == 1)
            #expect(metricValue(text, "outpost_ingest_rejected_readings_total", ["reason": "revoked_device"]) == 1)
            let counts = try await fixture.readingCounts("good-1")
            #expect(counts.rows == good.captured && counts.rows == 20 * 50 + cases.count * 2 * 50)
            #expect(counts.distinct == counts.rows)
            #expect(try await fixture.count("SELECT count(*) FROM readings WHERE device <> 'good-1'") == 0)
            // Refused readings are never acked: their devices keep them.
            #expect(stranger.ackedCount == 0 && revoked.ackedCount == 0)
        }
    }

    @Test("PostgreSQL restarts mid-stream: ingest holds a bounded backlog, reconnects, and nothing is lost or duplicated")
    func postgresRestart() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration { $0.ingest.queueMaxRows = 1_000 })
            try await fixture.addDevices(["meter-r1", "meter-r2"])
            let devices = [try await fixture.device("meter-r1", resendAfter: .seconds(2)),
                           try await fixture.device("meter-r2", resendAfter: .seconds(2))]
            let sender = Task {
                for _ in 0..<100 {
                    for device in devices { try await device.send(batches: 1, readings: 100) }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await waitUntil(timeout: .seconds(30), "some readings stored") {
                (metricValue(aggregator.metrics.render(), "outpost_ingest_readings_stored_total") ?? 0) > 0
            }
            await fixture.postgres.stop()
            // Readings keep arriving while the database is down; writes wait for the pool or fail and retry.
            let health = try await fixture.httpsStatus(aggregator.configuration, "/health")
            #expect(health.status == 503)
            // Write paths that already failed are listed too; which ones depends on timing.
            #expect(health.body.hasPrefix(#"{"status":"failing","database":"unreachable","broker":"ok","failingWrites":["#))
            #expect(health.body.contains(#""database_unreachable""#))
            // Back-pressure: the decoded queue fills to its bound and stays there; the broker keeps the rest.
            var highest = 0.0
            try await waitUntil(timeout: .seconds(30), "the ingest queue full") {
                let rows = metricValue(aggregator.metrics.render(), "outpost_ingest_queue_rows") ?? 0
                highest = max(highest, rows)
                return rows >= 900
            }
            #expect(highest <= 1_000)
            #expect(devices.map(\.captured).reduce(0, +) > devices.map(\.ackedCount).reduce(0, +))
            try await fixture.postgres.start()
            try await sender.value
            for device in devices { try await device.waitAllAcked(timeout: .seconds(120)) }
            for device in devices {
                let counts = try await fixture.readingCounts(device.id.rawValue)
                #expect(counts.rows == device.captured, "\(device.id)")
                #expect(counts.distinct == counts.rows)
            }
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 20_000)
        }
    }
}
