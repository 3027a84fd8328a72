import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostAggregator

/// Two independent mosquitto brokers (TLS, client certificates, ACL) on 127.0.0.1 and two
/// aggregators, each connected to both: devices on either broker are stored exactly once and
/// acked through their own broker; `kill -9` of one broker stops only its devices, whose
/// readings drain once it is back.
@Suite("More than one broker", .serialized, .timeLimit(.minutes(5)))
struct TwoBrokerTests {
    /// Three devices per broker, chosen by the assignment itself so the test follows the hash.
    static func devices(_ assignment: BrokerAssignment) -> [String: [String]] {
        var chosen: [String: [String]] = [:]
        for index in 0..<200 {
            let id = "meter-\(index)"
            let broker = assignment.broker(for: id)
            if chosen[broker, default: []].count < 3 { chosen[broker, default: []].append(id) }
        }
        return chosen
    }

    @Test("devices on both brokers stored once; kill -9 of broker b: a's devices keep flowing, b's drain after its restart")
    func twoBrokers() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let second = fixture.directory.file("broker-b")
            try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
            let brokerB = try await MosquittoServer(
                directory: second, ca: fixture.ca,
                options: .init(serviceIdentities: AggregatorFixture.instances.map { "svc.aggregator.\($0)" }))
            do {
                try await run(fixture, brokerB)
            } catch {
                await brokerB.stop()
                throw error
            }
            await brokerB.stop()
        }
    }

    private func run(_ fixture: AggregatorFixture, _ brokerB: MosquittoServer) async throws {
        let endpoints = [BrokerEndpoint(name: "a", host: "127.0.0.1", port: fixture.broker.port),
                         BrokerEndpoint(name: "b", host: "127.0.0.1", port: brokerB.port)]
        var configurations: [AggregatorConfiguration] = []
        var aggregators: [OutpostAggregator.Aggregator] = []
        for instance in AggregatorFixture.instances {
            let configuration = try await fixture.configuration(instance) {
                $0.brokers = endpoints
                $0.devices.offlineAfterSeconds = 6
            }
            configurations.append(configuration)
            let aggregator = try await fixture.startInProcess(configuration)
            try await waitUntil(timeout: .seconds(30), "\(instance) connected to both brokers") { aggregator.brokers.disconnected.isEmpty }
            #expect(aggregator.brokers.members.map(\.name) == ["a", "b"])
            aggregators.append(aggregator)
        }
        let placed = Self.devices(configurations[0].brokerAssignment)
        let idsA = placed["a"] ?? [], idsB = placed["b"] ?? []
        #expect(idsA.count == 3 && idsB.count == 3)
        try await fixture.addDevices(idsA + idsB)
        var onA: [TestDevice] = [], onB: [TestDevice] = []
        for id in idsA { onA.append(try await fixture.device(id, resendAfter: .seconds(2), broker: fixture.broker)) }
        for id in idsB {
            onB.append(try await fixture.device(id, resendAfter: .seconds(2), onCommand: { .success(id: $0.id, output: "pong") },
                                                broker: brokerB))
        }
        let all = onA + onB
        for device in all { try await device.send(batches: 20, readings: 50) }
        for device in all { try await device.waitAllAcked() }
        for device in all {
            let counts = try await fixture.readingCounts(device.id.rawValue)
            #expect(counts.rows == device.captured && counts.distinct == counts.rows, "\(device.id): \(counts)")
        }
        #expect(try await fixture.count("SELECT count(*) FROM readings") == 6 * 1_000)

        // A command for a device on b is published on b (the device is subscribed only there).
        let command = try await aggregators[0].commands.enqueue(device: onB[0].id, name: "ping", ttlSeconds: 60, actor: "test")
        try await waitUntil(timeout: .seconds(30), "ping answered through broker b") {
            try await fixture.psql("SELECT status FROM commands WHERE id = '\(command.id)'") == "succeeded"
        }
        #expect(onB[0].commands.map(\.id) == [command.id])

        // kill -9 of b: a's devices keep being stored and acked; b's capture meanwhile.
        await brokerB.crash()
        try await waitUntil(timeout: .seconds(30), "aggregators see b down") {
            aggregators.allSatisfy { $0.brokers.disconnected == ["b"] }
        }
        let scrape = try await fixture.https(configurations[0], "/metrics")
        #expect(metricValue(scrape, "outpost_broker_connected", ["broker": "b"]) == 0, "\(scrape)")
        #expect(metricValue(scrape, "outpost_broker_connected", ["broker": "a"]) == 1)
        let health = try await fixture.https(configurations[0], "/health")
        #expect(health.contains(#""broker":"ok""#) && health.contains(#""broker_disconnected:b""#), "\(health)")
        #expect(!health.contains(#""status":"failing""#), "\(health)")
        for device in onB { try device.flood(batches: 10, readings: 50) }
        for device in onA { try await device.send(batches: 10, readings: 50) }
        for device in onA { try await device.waitAllAcked(timeout: .seconds(60)) }
        for device in onA {
            #expect(try await fixture.readingCounts(device.id.rawValue).rows == 1_500, "\(device.id) flowed while b was down")
        }
        // Only b's devices go offline (silence); a's, still sending, stay online.
        let idsOnB = idsB.map { "'\($0)'" }.joined(separator: ", ")
        try await waitUntil(timeout: .seconds(60), every: .milliseconds(500), "b's devices offline by silence") {
            for device in onA { try await device.send(batches: 1, readings: 10) }
            return try await fixture.count("SELECT count(*) FROM devices WHERE status = 'offline' AND status_cause = 'silence' AND id IN (\(idsOnB))") == 3
        }
        #expect(try await fixture.count("SELECT count(*) FROM devices WHERE status = 'online' AND id IN (\(idsA.map { "'\($0)'" }.joined(separator: ", ")))") == 3)
        for device in onA { try await device.waitAllAcked(timeout: .seconds(60)) }
        for device in onB {
            #expect(try await fixture.readingCounts(device.id.rawValue).rows == 1_000, "\(device.id) stored nothing while b was down")
            #expect(!device.allAcked)
        }

        // b returns on its port: its devices reconnect and their backlog drains, once each.
        try await brokerB.start()
        for device in onB { try await device.waitAllAcked(timeout: .seconds(120)) }
        for device in all {
            let counts = try await fixture.readingCounts(device.id.rawValue)
            #expect(counts.rows == device.captured && counts.distinct == counts.rows, "\(device.id): \(counts)")
        }
        for device in onB { #expect(device.captured == 1_500) }
        try await waitUntil(timeout: .seconds(30), "aggregators back on both brokers") {
            aggregators.allSatisfy { $0.brokers.disconnected.isEmpty }
        }
        // Both aggregators took a share of the ingest.
        for aggregator in aggregators {
            #expect((metricValue(aggregator.metrics.render(), "outpost_ingest_readings_stored_total") ?? 0) > 0)
        }
    }
}
