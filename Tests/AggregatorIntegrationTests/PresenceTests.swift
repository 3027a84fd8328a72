import Foundation
import Logging
import Synchronization
import OutpostMQTT
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAggregator
@testable import OutpostMQTT
@testable import OutpostWire

/// Device presence from the state topic, the last will, activity and silence.
@Suite("Device presence", .serialized, .timeLimit(.minutes(3)))
struct PresenceTests {
    static func status(_ fixture: AggregatorFixture, _ device: String) async throws -> String {
        try await fixture.psql("SELECT status || '/' || coalesce(status_cause, '') FROM devices WHERE id = '\(device)'")
    }

    /// Milliseconds since the epoch of `status_changed_at`.
    static func changedAtMs(_ fixture: AggregatorFixture, _ device: String) async throws -> Int64 {
        Int64(try await fixture.psql(
            "SELECT (extract(epoch FROM status_changed_at) * 1000)::int8 FROM devices WHERE id = '\(device)'")) ?? -1
    }

    @Test("online from the state topic, offline from the last will at the moment it arrived, history kept")
    func stateAndWill() async throws {
        try await AggregatorFixture.withFixture { fixture in
            try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["cam-w"])
            let id = DeviceID("cam-w")!
            let will = MQTTConfiguration.Will(
                topic: Topic(id, .state).name, payload: try WireCodec().encode(DeviceState(device: id, status: .offline, ts: WireClock.nowMs())))
            let device = try await fixture.device("cam-w", will: will)
            let online = DeviceState(device: id, status: .online, ts: WireClock.nowMs(), version: "1.2.3", bufferDepth: 7, dropped: 0)
            try await device.client.publish(Topic(id, .state).name, payload: try WireCodec().encode(online), retain: true)
            try await waitUntil(timeout: .seconds(20), "online from state") { try await Self.status(fixture, "cam-w") == "online/state" }
            #expect(try await fixture.psql("SELECT version || ',' || buffer_depth FROM devices WHERE id = 'cam-w'") == "1.2.3,7")

            let cut = WireClock.nowMs()
            device.client.abortConnectionForTesting()
            try await waitUntil(timeout: .seconds(20), "offline from the will") { try await Self.status(fixture, "cam-w") == "offline/state" }
            let changedAt = try await Self.changedAtMs(fixture, "cam-w")
            #expect(changedAt >= cut && changedAt <= WireClock.nowMs(), "dated \(changedAt - cut) ms after the cut")
            #expect(try await fixture.psql(
                "SELECT string_agg(status, ',' ORDER BY changed_at) FROM device_status_changes WHERE device = 'cam-w'") == "online,offline")
        }
    }

    @Test("a camera's stored stream_stats events set outpost_camera_bitrate_kbps, _loss_ratio and _stats_timestamp_seconds")
    func cameraStreamMetrics() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["cam-s"])
            let id = DeviceID("cam-s")!
            let device = try await fixture.device("cam-s")
            let ts = WireClock.nowMs()
            for (bitrate, loss) in [(1_800.0, 0.02), (0.0, 0.25)] {
                let event = DeviceEvent(device: id, ts: ts, kind: DeviceEvent.Kind.streamStats,
                                        data: ["bitrateKbps": .number(bitrate), "lossFraction": .number(loss), "packets": 10])
                try await device.client.publish(Topic(id, .events).name, payload: try WireCodec().encode(event))
                // One event sets the gauges one after the other: a scrape between two sees the new
                // bitrate beside the old loss, so the pair is awaited, not read after the bitrate.
                try await waitUntil(timeout: .seconds(20), "bitrate \(bitrate) and loss \(loss) exported") {
                    let text = aggregator.metrics.render()
                    return metricValue(text, "outpost_camera_bitrate_kbps", ["device": "cam-s"]) == bitrate
                        && metricValue(text, "outpost_camera_loss_ratio", ["device": "cam-s"]) == loss
                }
            }
            #expect(metricValue(aggregator.metrics.render(), "outpost_camera_stats_timestamp_seconds", ["device": "cam-s"]) == Double(ts) / 1_000)
            #expect(try await fixture.psql("SELECT count(*) FROM device_events WHERE device = 'cam-s' AND kind = 'stream_stats'") == "2")
        }
    }

    @Test("activity brings a device online; silence past the limit takes it offline, dated at its last contact; activity again brings it back")
    func activityAndSilence() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration { $0.devices.offlineAfterSeconds = 2 })
            try await fixture.addDevices(["meter-s"])
            let device = try await fixture.device("meter-s")
            try await device.send(batches: 1, readings: 10)
            try await device.waitAllAcked()
            try await waitUntil(timeout: .seconds(20), "online by activity") { try await Self.status(fixture, "meter-s") == "online/activity" }
            try await waitUntil(timeout: .seconds(30), "offline by silence") { try await Self.status(fixture, "meter-s") == "offline/silence" }
            #expect(try await fixture.psql("SELECT status_changed_at = last_seen FROM devices WHERE id = 'meter-s'") == "t")
            // The counter follows the sweep's commit, so it may trail the row by a moment.
            try await waitUntil(timeout: .seconds(20), "silence counted") {
                metricValue(aggregator.metrics.render(), "outpost_devices_silence_offline_total") == 1
            }
            try await device.send(batches: 1, readings: 10)
            try await device.waitAllAcked()
            try await waitUntil(timeout: .seconds(20), "online again") { try await Self.status(fixture, "meter-s") == "online/activity" }
            #expect(try await fixture.psql(
                "SELECT string_agg(status || ':' || cause, ',' ORDER BY changed_at) FROM device_status_changes WHERE device = 'meter-s'")
                == "online:activity,offline:silence,online:activity")
        }
    }

    static func observed(_ device: String, _ status: DeviceState.Status, at ms: Int64, retained: Bool = false, version: String? = nil,
                         bufferDepth: Int64? = nil) -> StateObservation {
        StateObservation(state: DeviceState(device: DeviceID(device)!, status: status, ts: ms, version: version, bufferDepth: bufferDepth),
                         retained: retained, receivedAtMs: ms)
    }

    @Test("one statement applies a batch of states in order: the newest wins, each change a history row and a live event in order, unknown and revoked refused")
    func stateBatch() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["bat-a", "bat-b", "bat-r"])
            try await fixture.psql("UPDATE devices SET revoked_at = now() WHERE id = 'bat-r'")
            let feed = try #require(aggregator.services.compactMap { $0 as? EventFeed }.first)
            let events = await feed.subscribe()
            let received = Mutex<[String]>([])
            let listener = Task { for await payload in events { received.withLock { $0.append(payload) } } }
            defer { listener.cancel() }
            try await waitUntil(timeout: .seconds(30), every: .milliseconds(200), "the live-event feed listens") {
                if received.withLock({ $0.contains { $0.contains("probe") } }) { return true }
                _ = try? await fixture.psql("SELECT pg_notify('outpost_events', '{\"probe\":1}')")
                return false
            }
            let t = WireClock.nowMs()
            let batch = [
                Self.observed("bat-a", .online, at: t, version: "1.0", bufferDepth: 3),
                Self.observed("bat-x", .online, at: t + 1),
                Self.observed("bat-a", .offline, at: t + 2),
                Self.observed("bat-r", .online, at: t + 3),
                Self.observed("bat-b", .online, at: t + 4, retained: true),
                Self.observed("bat-a", .online, at: t + 5, bufferDepth: 4),
                Self.observed("bat-a", .online, at: t + 6),
            ]
            let store = DevicesStore(client: aggregator.database.client, logger: Logger(label: "test"))
            #expect(try await store.apply(batch) == [1, 3])
            #expect(try await fixture.psql(
                "SELECT status || '/' || status_cause || '/' || version || '/' || buffer_depth FROM devices WHERE id = 'bat-a'") == "online/state/1.0/4")
            #expect(try await Self.changedAtMs(fixture, "bat-a") == t + 5, "the last change, not the repeat after it")
            #expect(try await fixture.psql("SELECT (extract(epoch FROM last_seen) * 1000)::int8 FROM devices WHERE id = 'bat-a'") == "\(t + 6)")
            #expect(try await fixture.psql(
                "SELECT string_agg(device || ':' || status, ',' ORDER BY changed_at) FROM device_status_changes WHERE device LIKE 'bat-%'")
                == "bat-a:online,bat-a:offline,bat-b:online,bat-a:online")
            #expect(try await fixture.psql("SELECT status || ',' || (last_seen IS NULL) FROM devices WHERE id = 'bat-b'") == "online,true",
                    "a retained state is not contact")
            #expect(try await Self.status(fixture, "bat-r") == "unknown/")
            #expect(try await fixture.count("SELECT count(*) FROM devices WHERE id = 'bat-x'") == 0)
            try await waitUntil(timeout: .seconds(10), "four live status events") {
                received.withLock { $0.filter { $0.contains("device.status") && $0.contains("bat-") }.count } >= 4
            }
            let statuses = received.withLock { $0.filter { $0.contains("device.status") && $0.contains("bat-a") } }
                .map { $0.contains(#""status" : "online""#) || $0.contains(#""status":"online""#) ? "online" : "offline" }
            #expect(statuses == ["online", "offline", "online"])
        }
    }

    @Test("a state received before the one a device shows is ignored: another aggregator's late batch cannot bring back an older status")
    func olderStateIgnored() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["ord-a"])
            let store = DevicesStore(client: aggregator.database.client, logger: Logger(label: "test"))
            let t = WireClock.nowMs()
            // Aggregator B writes the newer state first; aggregator A's batch, held for a retry, comes after it.
            #expect(try await store.apply([Self.observed("ord-a", .offline, at: t + 10, version: "2.0")]) == [])
            #expect(try await store.apply([Self.observed("ord-a", .online, at: t, version: "1.0", bufferDepth: 9)]) == [])
            #expect(try await fixture.psql("SELECT status || '/' || version || '/' || coalesce(buffer_depth::text, '-') FROM devices WHERE id = 'ord-a'")
                == "offline/2.0/-")
            #expect(try await Self.changedAtMs(fixture, "ord-a") == t + 10)
            #expect(try await fixture.psql(
                "SELECT string_agg(status, ',' ORDER BY changed_at) FROM device_status_changes WHERE device = 'ord-a'") == "offline")
            #expect(try await fixture.psql("SELECT (extract(epoch FROM last_seen) * 1000)::int8 FROM devices WHERE id = 'ord-a'") == "\(t + 10)")
            // A state received at the same millisecond as the stored one still applies, as the later in arrival order.
            #expect(try await store.apply([Self.observed("ord-a", .online, at: t + 10)]) == [])
            #expect(try await Self.status(fixture, "ord-a") == "online/state")
        }
    }

    @Test("a receipt time ahead of the database's clock counts as now: an aggregator whose clock runs ahead cannot hold a device's status")
    func futureReceiptClamped() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["clk-a"])
            let store = DevicesStore(client: aggregator.database.client, logger: Logger(label: "test"))
            // Aggregator B's clock runs an hour ahead: its state is stored as received now.
            #expect(try await store.apply([Self.observed("clk-a", .offline, at: WireClock.nowMs() + 3_600_000)]) == [])
            #expect(try await fixture.psql("SELECT state_received_at <= now() FROM devices WHERE id = 'clk-a'") == "t")
            try await Task.sleep(for: .milliseconds(20))
            // Aggregator A, correctly clocked, receives the next state.
            #expect(try await store.apply([Self.observed("clk-a", .online, at: WireClock.nowMs())]) == [])
            #expect(try await Self.status(fixture, "clk-a") == "online/state")
            #expect(try await fixture.count("SELECT count(*) FROM device_status_changes WHERE device = 'clk-a' AND status = 'online'") == 1)
        }
    }

    @Test("the silence sweep and revocation order states: a state received before them and written after is ignored")
    func silenceAndRevocationOrderStates() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration { $0.devices.offlineAfterSeconds = 3_600 })
            try await fixture.addDevices(["sil-a", "rev-a"])
            let store = DevicesStore(client: aggregator.database.client, logger: Logger(label: "test"))
            let t = WireClock.nowMs() - 1_000
            #expect(try await store.apply([Self.observed("sil-a", .online, at: t), Self.observed("rev-a", .online, at: t)]) == [])
            #expect(try await store.markSilent(olderThanSeconds: 0) == 2)
            // A batch held for a retry, received before the sweep, written after it.
            #expect(try await store.apply([Self.observed("sil-a", .online, at: t + 500)]) == [])
            #expect(try await Self.status(fixture, "sil-a") == "offline/silence")
            #expect(try await fixture.count("SELECT count(*) FROM device_status_changes WHERE device = 'sil-a'") == 2, "online, offline; no third row")

            try await fixture.psql("UPDATE devices SET status = 'online', status_cause = 'state' WHERE id = 'rev-a'")
            let revoked = Int64(try await fixture.psql("SELECT (extract(epoch FROM now()) * 1000)::int8")) ?? -1
            _ = try await CertificatesStore(client: aggregator.database.client, logger: Logger(label: "test")).revokeDevice("rev-a")
            // A new certificate clears the revocation; a state received before the revocation still does not apply.
            try await fixture.psql("UPDATE devices SET revoked_at = NULL WHERE id = 'rev-a'")
            #expect(try await store.apply([Self.observed("rev-a", .online, at: revoked - 100)]) == [])
            #expect(try await Self.status(fixture, "rev-a") == "offline/revoked")
        }
    }

    @Test("the presence service writes states in batches: every change stored, unknown devices counted, the batch sizes recorded")
    func stateService() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            let devices = (0..<20).map { "svc-\($0)" }
            try await fixture.addDevices(devices)
            let metrics = AggregatorMetrics()
            let recorder = PresenceRecorder(maxPendingDevices: 100, stateBatchMax: 50)
            let service = fixture.presenceService(aggregator, recorder: recorder, metrics: metrics, flushIntervalMs: 1_000)
            let running = Task { try await service.run() }
            let t = WireClock.nowMs()
            for round in 0..<10 {
                for device in devices {
                    #expect(recorder.record(Self.observed(device, round % 2 == 0 ? .online : .offline, at: t + Int64(round))) == .queued)
                }
            }
            recorder.record(Self.observed("svc-unknown", .online, at: t))
            try await waitUntil(timeout: .seconds(20), "every change stored") {
                try await fixture.count("SELECT count(*) FROM device_status_changes WHERE device LIKE 'svc-%'") == 200
            }
            try await waitUntil(timeout: .seconds(10), "the unknown device counted") {
                metricValue(metrics.render(), "outpost_ingest_rejected_total", ["kind": "state", "reason": "unknown_device"]) == 1
            }
            #expect(try await fixture.count("SELECT count(*) FROM devices WHERE id LIKE 'svc-%' AND status = 'offline'") == 20)
            let text = metrics.render()
            #expect(metricValue(text, "outpost_devices_state_batch_messages_count") ?? 0 >= 5, "201 states in batches of at most 50")
            #expect(metricValue(text, "outpost_devices_state_batch_messages_sum") == 201)
            #expect(metricValue(text, "outpost_devices_flush_failures_total") == 0)
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test("a state batch that fails transiently is held and retried with backoff: nothing lost, order kept, the write path recovers")
    func stateRetry() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["ret-a"])
            let definition = try await fixture.psql("SELECT pg_get_functiondef('outpost_apply_states'::regproc)")
            // Without the function every call fails with 42883, which is not about the data: transient.
            try await fixture.psql("DROP FUNCTION outpost_apply_states")
            let metrics = AggregatorMetrics()
            let recorder = PresenceRecorder(maxPendingDevices: 100)
            let service = fixture.presenceService(aggregator, recorder: recorder, metrics: metrics, flushIntervalMs: 100)
            let running = Task { try await service.run() }
            let t = WireClock.nowMs()
            recorder.record(Self.observed("ret-a", .online, at: t))
            recorder.record(Self.observed("ret-a", .offline, at: t + 1))
            try await waitUntil(timeout: .seconds(10), "the failure counted twice and the presence path failing") {
                (metricValue(metrics.render(), "outpost_devices_flush_failures_total") ?? 0) >= 2
                    && metrics.failingWritePaths == ["presence"]
            }
            #expect(try await Self.status(fixture, "ret-a") == "unknown/")
            recorder.record(Self.observed("ret-a", .online, at: t + 2))
            try await fixture.psql(definition)
            try await waitUntil(timeout: .seconds(20), "all three stored once the function is back") {
                try await fixture.count("SELECT count(*) FROM device_status_changes WHERE device = 'ret-a'") == 3
            }
            #expect(try await fixture.psql(
                "SELECT string_agg(status, ',' ORDER BY changed_at) FROM device_status_changes WHERE device = 'ret-a'") == "online,offline,online")
            #expect(try await Self.status(fixture, "ret-a") == "online/state")
            try await waitUntil(timeout: .seconds(10), "the presence path recovered") { metrics.failingWritePaths.isEmpty }
            running.cancel()
            _ = try? await running.value
        }
    }
}
