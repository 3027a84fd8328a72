import Foundation
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
}
