import Foundation
import OutpostCommon
import Testing
import TestHarness
@testable import OutpostAggregator

/// One device flooding telemetry through the real broker must slow itself, not the others.
@Suite("Ingest fairness", .serialized, .timeLimit(.minutes(5)))
struct FairnessTests {
    @Test("with one device flooding, the others' capture-to-ack p99 stays within 2 s and their readings are stored once")
    func floodingDevice() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try fixture.configuration { $0.ingest.queueMaxRows = 5_000 })
            let others = (1...5).map { "fair-\($0)" }
            try await fixture.addDevices(["flood"] + others)
            let flooder = try await fixture.device("flood", resendAfter: .seconds(5))
            var devices: [TestDevice] = []
            for id in others { devices.append(try await fixture.device(id, resendAfter: .seconds(10))) }
            // Bounded: 2,000 messages of 100 readings, handed to the client at once (QoS 1, not
            // waiting for each PUBACK), far more than the aggregator can store in the meantime.
            let codec = WireCodec(), floodID = DeviceID("flood")!, buffer = BufferID.random(), now = WireClock.nowMs()
            for index in 0..<2_000 {
                let batch = TelemetryBatch(device: floodID, buffer: buffer, readings: (0..<100).map {
                    Reading(seq: Int64(index * 100 + $0 + 1), ts: now, metric: "power_w", value: 1)
                })
                try flooder.client.publishDetached(Topic(floodID, .telemetry).name, payload: try codec.encode(batch), qos: .atLeastOnce)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in devices {
                    group.addTask {
                        for _ in 0..<30 {
                            try await device.send(batches: 1, readings: 10)
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for device in devices { try await device.waitAllAcked(timeout: .seconds(60)) }
            let latencies = devices.flatMap(\.ackLatencies).sorted()
            #expect(latencies.count == 150)
            let p99 = latencies[(latencies.count - 1) * 99 / 100]
            print("fairness: others' capture-to-ack p50 \(latencies[latencies.count / 2]), p99 \(p99), max \(latencies.last!); "
                  + "shed \(metricValue(aggregator.metrics.render(), "outpost_ingest_shed_total") ?? 0)")
            #expect(p99 <= .seconds(2), "p99 capture-to-ack \(p99)")
            for id in others {
                let counts = try await fixture.readingCounts(id)
                #expect(counts.rows == 300 && counts.distinct == 300, "\(id): \(counts)")
            }
            #expect((metricValue(aggregator.metrics.render(), "outpost_ingest_shed_total") ?? 0) > 0, "the flood was shed")
        }
    }
}
