import Foundation
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// The real `outpost-aggregator serve` binary, killed with SIGKILL mid-stream.
@Suite("Aggregator crashes", .serialized, .timeLimit(.minutes(5)))
struct CrashTests {
    /// Streams from every device at a steady pace for as long as `chaos` runs (and at
    /// least `minimumRounds` rounds, at most 2,000), then waits until every reading is acked.
    static func stream(_ devices: [TestDevice], minimumRounds: Int = 40, chaos: () async throws -> Void) async throws {
        let chaosDone = Atomic<Bool>(false)
        let sender = Task {
            var round = 0
            while round < 2_000 && (round < minimumRounds || !chaosDone.load(ordering: .relaxed)) {
                for device in devices { try await device.send(batches: 1, readings: 100) }
                try await Task.sleep(for: .milliseconds(20))
                round += 1
            }
        }
        do {
            try await chaos()
        } catch {
            sender.cancel()
            throw error
        }
        chaosDone.store(true, ordering: .relaxed)
        try await sender.value
        for device in devices { try await device.waitAllAcked(timeout: .seconds(120)) }
    }

    static func expectExactlyOnce(_ devices: [TestDevice], _ fixture: AggregatorFixture) async throws {
        for device in devices {
            let counts = try await fixture.readingCounts(device.id.rawValue)
            #expect(device.captured > 0)
            #expect(counts.rows == device.captured, "\(device.id): stored \(counts.rows) of \(device.captured)")
            #expect(counts.distinct == counts.rows, "\(device.id) has duplicates")
        }
    }

    @Test("kill -9 the aggregator three times mid-stream and restart it: nothing is lost or duplicated")
    func killAndRestart() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration()
            let path = try fixture.writeConfiguration(configuration)
            #expect(try await fixture.runBinary(["migrate", "--config", path]).contains("applied"))
            #expect(try await fixture.runBinary(["migrate", "--config", path]).contains("up to date"))
            try await fixture.addDevices(["meter-k1", "meter-k2"])
            var process = try await fixture.startBinary(configPath: path, configuration: configuration)
            let devices = [try await fixture.device("meter-k1", resendAfter: .seconds(2)),
                           try await fixture.device("meter-k2", resendAfter: .seconds(2))]
            var kills = 0
            try await Self.stream(devices) {
                for _ in 0..<3 {
                    let before = try await fixture.count("SELECT count(*) FROM readings")
                    try await waitUntil(timeout: .seconds(60), "new readings stored") {
                        try await fixture.count("SELECT count(*) FROM readings") > before
                    }
                    await process.crash()
                    kills += 1
                    process = try await fixture.startBinary(configPath: path, configuration: configuration)
                }
            }
            #expect(kills == 3)
            try await Self.expectExactlyOnce(devices, fixture)
            #expect(try await fixture.count("SELECT count(*) FROM readings") == devices.reduce(0) { $0 + $1.captured })
            // SIGTERM drains and exits cleanly.
            let status = await process.stop(signal: SIGTERM, timeout: .seconds(30))
            #expect(status == 0, "exit status \(status): \(process.log.suffix(2_000))")
        }
    }

    @Test("two aggregators split the load; kill -9 one mid-stream: nothing is lost or duplicated")
    func twoAggregatorsOneKilled() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let first = try await fixture.configuration("a1") { $0.ingest.sessionExpirySeconds = 5 }
            let second = try await fixture.configuration("a2") { $0.ingest.sessionExpirySeconds = 5 }
            let firstPath = try fixture.writeConfiguration(first), secondPath = try fixture.writeConfiguration(second)
            // Both start at once on an empty database: the migration lock lets one apply each migration.
            async let startFirst = fixture.startBinary(configPath: firstPath, configuration: first)
            async let startSecond = fixture.startBinary(configPath: secondPath, configuration: second)
            _ = try await startFirst
            let victim = try await startSecond
            try await fixture.addDevices(["meter-t1", "meter-t2", "meter-t3"])
            let devices = [try await fixture.device("meter-t1", resendAfter: .seconds(2)),
                           try await fixture.device("meter-t2", resendAfter: .seconds(2)),
                           try await fixture.device("meter-t3", resendAfter: .seconds(2))]
            try await Self.stream(devices) {
                try await waitUntil(timeout: .seconds(60), "both aggregators storing") {
                    for configuration in [first, second] {
                        let text = try? await fixture.https(configuration, "/metrics")
                        guard (text.flatMap { metricValue($0, "outpost_ingest_readings_stored_total") } ?? 0) > 0 else { return false }
                    }
                    return true
                }
                await victim.crash()
                // Keep streaming with one aggregator left (and the dead one's session still holding its share).
                let after = try await fixture.count("SELECT count(*) FROM readings")
                try await waitUntil(timeout: .seconds(60), "readings stored after the kill") {
                    try await fixture.count("SELECT count(*) FROM readings") >= after + 3_000
                }
            }
            try await Self.expectExactlyOnce(devices, fixture)
            #expect(try await fixture.count("SELECT count(*) FROM readings") == devices.reduce(0) { $0 + $1.captured })
            #expect(try await fixture.count("SELECT count(*) FROM schema_migrations") == (try MigrationRunner.load(
                directory: first.migrationsDir).count))
        }
    }
}
