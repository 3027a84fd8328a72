import Foundation
import Logging
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAggregator

/// Throughput of the ingest path, for a person to read: not a timed test, and off
/// unless `OUTPOST_BENCH=1`. Prints rows per second of (1) the whole path, devices →
/// broker → aggregator → PostgreSQL → acks, and (2) the store alone, batch after batch.
@Suite("Ingest throughput", .serialized, .enabled(if: ProcessInfo.processInfo.environment["OUTPOST_BENCH"] != nil),
       .timeLimit(.minutes(10)))
struct IngestBenchmark {
    @Test("rows per second through the ingest path")
    func throughput() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration { $0.ingest.batchMaxDelayMs = 50 }
            let aggregator = try await fixture.startInProcess(configuration)
            let ids = (1...4).map { "bench-\($0)" }
            try await fixture.addDevices(ids)
            var devices: [TestDevice] = []
            for id in ids { devices.append(try await fixture.device(id, resendAfter: .seconds(60))) }
            let batches = 100, readings = 1_000
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in devices { group.addTask { try await device.send(batches: batches, readings: readings) } }
                try await group.waitForAll()
            }
            for device in devices { try await device.waitAllAcked(timeout: .seconds(300)) }
            let elapsed = ContinuousClock.now - started
            let rows = devices.count * batches * readings
            #expect(try await fixture.count("SELECT count(*) FROM readings") == rows)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("BENCH end-to-end: \(rows) rows in \(String(format: "%.2f", seconds)) s = \(Int(Double(rows) / seconds)) rows/s")
            let text = aggregator.metrics.render()
            print("BENCH batches: \(metricValue(text, "outpost_ingest_batch_rows_count") ?? 0), commit seconds total: \(metricValue(text, "outpost_ingest_commit_seconds_sum") ?? 0)")

            // The store alone: 40 batches of 5,000 rows, one round trip each.
            let store = ReadingsStore(primary: aggregator.database.client, logger: Logger(label: "bench"))
            let device = DeviceID("bench-1")!, buffer = BufferID.random()
            let now = WireClock.nowMs()
            let storeStarted = ContinuousClock.now
            for round in 0..<40 {
                var batch = IngestBatch()
                for message in 0..<5 {
                    let base = Int64(round * 5_000 + message * 1_000)
                    let readings = (1...1_000).map { Reading(seq: base + Int64($0), ts: now, metric: "power_w", value: Double($0)) }
                    batch.append(ReceivedBatch(batch: TelemetryBatch(device: device, buffer: buffer, readings: readings), receivedAt: .now))
                }
                _ = try await store.write(batch)
            }
            let storeElapsed = ContinuousClock.now - storeStarted
            let storeSeconds = Double(storeElapsed.components.seconds) + Double(storeElapsed.components.attoseconds) / 1e18
            print("BENCH store alone: 200000 rows in \(String(format: "%.2f", storeSeconds)) s = \(Int(200_000 / storeSeconds)) rows/s")
        }
    }
}
