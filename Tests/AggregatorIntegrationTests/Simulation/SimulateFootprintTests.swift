import Foundation
import OutpostAgent
import Testing
import TestHarness

/// The simulator's own cost per device: resident memory and threads of the process at
/// steady state, for `SIMULATE_FOOTPRINT` devices (e.g. `10,200`), each at 1 reading/s for 20 s.
/// Opt-in (it takes minutes at 200 devices): `SIMULATE_FOOTPRINT=10,200 swift test --skip-build --filter SimulateFootprint`.
@Suite("outpost-simulator footprint (opt-in: SIMULATE_FOOTPRINT=10,200)", .serialized, .timeLimit(.minutes(15)),
       .enabled(if: ProcessInfo.processInfo.environment["SIMULATE_FOOTPRINT"] != nil))
struct SimulateFootprintTests {
    @Test("RSS and threads per device at steady state; every run drains")
    func footprint() async throws {
        let counts = (ProcessInfo.processInfo.environment["SIMULATE_FOOTPRINT"] ?? "")
            .split(separator: ",").compactMap { Int($0) }.filter { (1...2_000).contains($0) }
        try #require(!counts.isEmpty)
        try await SimulationFixture.withFixture { fixture in
            for count in counts {
                let (tokens, created) = try await fixture.createTokens(prefix: "fp\(count)-", count: count)
                #expect(created.status == 0, "\(created.stderr)")
                let simulator = try fixture.startSimulator(
                    tokens: tokens, stateDir: fixture.directory.file("fp-\(count)"),
                    extra: ["--rate", "1", "--duration", "40s", "--drain-timeout", "120s", "--report", fixture.directory.file("fp-\(count).json")],
                    log: fixture.directory.file("fp-\(count).log"))
                // Steady state: every device connected and acked at least once.
                try await waitUntil(timeout: .seconds(300), "\(count) devices stored readings") {
                    guard simulator.isRunning else { throw HarnessError("simulator exited: \(simulator.log.suffix(2_000))") }
                    return try await fixture.psql("SELECT count(DISTINCT device) FROM readings WHERE device LIKE 'fp\(count)-%'") == "\(count)"
                }
                var samples: [(rss: Int, threads: Int)] = []
                for _ in 0..<5 {
                    if let sample = Self.sample(simulator.pid) { samples.append(sample) }
                    try await Task.sleep(for: .seconds(1))
                }
                let status = try await fixture.exitStatus(of: simulator, timeout: .seconds(300))
                #expect(status == 0, "\(simulator.log.suffix(2_000))")
                let rss = samples.map(\.rss).max() ?? 0, threads = samples.map(\.threads).max() ?? 0
                print("simulate footprint: \(count) devices: peak RSS \(rss / 1024) MiB (\(rss / count) KiB/device), "
                      + "\(threads) threads (\(String(format: "%.2f", Double(threads) / Double(count)))/device)")
                #expect(rss > 0 && threads > 0)
            }
        }
    }

    /// VmRSS (KiB) and Threads from /proc.
    static func sample(_ pid: pid_t) -> (rss: Int, threads: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func value(_ key: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(key) }?.split(whereSeparator: { $0 == " " || $0 == "\t" })
                .dropFirst().first.flatMap { Int($0) }
        }
        guard let rss = value("VmRSS:"), let threads = value("Threads:") else { return nil }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        print("simulate footprint sample: pid \(pid): \(descriptors) open descriptors")
        return (rss, threads)
    }
}
