import Foundation
import Logging
import OutpostWire
import PostgresNIO
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// Figures for the sizing table on a Patroni cluster (synchronous replica, TLS), for a person
/// to read: not a timed test, and off unless `OUTPOST_BENCH=1` (`make bench` runs it).
/// Prints (1) the store's rows/s through HAProxy to the primary against straight to the
/// leader's port, (2) the replica's replay lag while that ingest runs, (3) readings queries
/// served by the replica meanwhile.
@Suite("Patroni figures", .serialized, .enabled(if: ProcessInfo.processInfo.environment["OUTPOST_BENCH"] != nil),
       .timeLimit(.minutes(10)))
struct PatroniBenchmark {
    static let batches = 40, batchRows = 5_000

    /// What the sampler and the reader collect while ingest runs.
    final class Samples: Sendable {
        let lags = Mutex<[Double]>([])
        let queries = Mutex<[Duration]>([])
        let running = Atomic<Bool>(true)
    }

    /// Writes `batches` batches of `batchRows` readings through `client`; returns rows per second.
    static func ingest(_ client: PostgresPool, device: DeviceID) async throws -> Double {
        let store = ReadingsStore(primary: client, logger: Logger(label: "bench"))
        let buffer = BufferID.random(), now = WireClock.nowMs()
        let started = ContinuousClock.now
        for round in 0..<batches {
            var batch = IngestBatch()
            for message in 0..<5 {
                let base = Int64(round * batchRows + message * 1_000)
                let readings = (1...1_000).map { Reading(seq: base + Int64($0), ts: now, metric: "power_w", value: Double($0)) }
                batch.append(ReceivedBatch(batch: TelemetryBatch(device: device, buffer: buffer, readings: readings), receivedAt: .now))
            }
            _ = try await store.write(batch)
        }
        return Double(batches * batchRows) / seconds(ContinuousClock.now - started)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("ingest through HAProxy against direct, replica lag under ingest, readings served by the replica meanwhile")
    func figures() async throws {
        try await PatroniFailoverTests.withCluster { fixture, cluster, configuration in
            var configuration = configuration
            configuration.postgres.readReplica = ReadReplicaSettings(port: cluster.replicaPort, maxStalenessMs: 5_000)
            let aggregator = try await fixture.startInProcess(configuration)
            let replica = try #require(aggregator.services.compactMap { $0 as? ReadReplica }.first)
            _ = try await cluster.psql("INSERT INTO devices (id) VALUES ('bench-h'), ('bench-d')")
            let leader = try await cluster.leader()
            var direct = configuration.postgres
            direct.port = try #require(cluster.nodePorts[leader])
            let directDatabase = try Database(settings: direct, logger: Logger(label: "bench.direct"))
            let directPool = Task { await directDatabase.client.run() }
            defer { directPool.cancel() }

            // Warm both paths, then alternate: direct, HAProxy, direct, HAProxy.
            _ = try await Self.ingest(directDatabase.client, device: DeviceID("bench-d")!)
            _ = try await Self.ingest(aggregator.database.client, device: DeviceID("bench-h")!)
            var directRates: [Double] = [], proxyRates: [Double] = []
            let samples = Samples()
            let sampler = Task {
                while samples.running.load(ordering: .relaxed) {
                    if let lag = try? await cluster.psql("SELECT coalesce(extract(epoch FROM max(replay_lag)), 0) FROM pg_stat_replication"), let value = Double(lag) {
                        samples.lags.withLock { $0.append(value) }
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            let reader = Task {
                let store = ReadingsStore(primary: aggregator.database.client, replica: replica, logger: Logger(label: "bench"))
                while samples.running.load(ordering: .relaxed) {
                    let started = ContinuousClock.now
                    if (try? await store.latest(device: "bench-h")) != nil { samples.queries.withLock { $0.append(ContinuousClock.now - started) } }
                }
            }
            let phaseStarted = ContinuousClock.now
            for _ in 0..<2 {
                directRates.append(try await Self.ingest(directDatabase.client, device: DeviceID("bench-d")!))
                proxyRates.append(try await Self.ingest(aggregator.database.client, device: DeviceID("bench-h")!))
            }
            let phaseSeconds = Self.seconds(ContinuousClock.now - phaseStarted)
            samples.running.store(false, ordering: .relaxed)
            await sampler.value
            await reader.value
            let text = aggregator.metrics.render()
            let onReplica = metricValue(text, "outpost_api_reads_total", ["target": "replica"]) ?? 0
            let onPrimary = metricValue(text, "outpost_api_reads_total", ["target": "primary"]) ?? 0
            let latencies = samples.queries.withLock { $0 }.sorted()
            let lagSamples = samples.lags.withLock { $0 }
            #expect(!latencies.isEmpty && !lagSamples.isEmpty)
            func fmt(_ value: Double) -> String { String(format: "%.0f", value) }
            print("BENCH patroni ingest (store, \(Self.batches) × \(Self.batchRows) rows, synchronous replica, TLS): direct \(directRates.map(fmt)) rows/s, "
                  + "through HAProxy \(proxyRates.map(fmt)) rows/s, ratio \(String(format: "%.2f", proxyRates.reduce(0, +) / directRates.reduce(0, +)))")
            print("BENCH patroni replica replay_lag under that ingest: max \(String(format: "%.3f", lagSamples.max() ?? 0)) s, "
                  + "median \(String(format: "%.3f", lagSamples.sorted()[lagSamples.count / 2])) s over \(lagSamples.count) samples")
            print("BENCH patroni readings latest() meanwhile: \(latencies.count) queries in ~\(fmt(phaseSeconds)) s, replica \(fmt(onReplica)), "
                  + "primary \(fmt(onPrimary)); p50 \(latencies[latencies.count / 2]), p99 \(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])")
        }
    }
}
