import Foundation
import Testing
import TestHarness
@testable import OutpostAgent

/// Sources on their own, in-process, with real files, /proc and real commands.
@Suite("Reading sources")
struct SourceTests {
    @Test("meter: one seed gives one sequence; AC adds frequency; energy only grows")
    func meter() async throws {
        let first = MeterSource(name: "m", kind: .ac, seed: 42, samplesPerCollect: 3)
        let second = MeterSource(name: "m", kind: .ac, seed: 42, samplesPerCollect: 3)
        let a = try await first.collect().samples
        let b = try await second.collect().samples
        #expect(a.map(\.value) == b.map(\.value))
        #expect(a.count == 15)
        #expect(Set(a.map(\.metric)) == ["voltage_v", "current_a", "power_w", "energy_wh", "frequency_hz"])
        #expect(a.filter { $0.metric == "voltage_v" }.allSatisfy { (200...260).contains($0.value) })
        let dc = try await MeterSource(name: "d", kind: .dc, seed: 1, prefix: "dc1").collect().samples
        #expect(dc.map(\.metric) == ["dc1.voltage_v", "dc1.current_a", "dc1.power_w", "dc1.energy_wh"])
        var energy: [Double] = []
        for _ in 0..<5 {
            energy += try await first.collect().samples.filter { $0.metric == "energy_wh" }.map(\.value)
        }
        #expect(zip(energy, energy.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("file: a number times the scale; a missing or non-numeric file is a coded error")
    func file() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-source")
        defer { directory.remove() }
        try "48250\n".write(toFile: directory.file("temp"), atomically: true, encoding: .utf8)
        let samples = try await FileSource(name: "t", path: directory.file("temp"), metric: "temp_c", scale: 0.001).collect().samples
        #expect(samples.map(\.metric) == ["temp_c"])
        #expect(abs(samples[0].value - 48.25) < 1e-9)
        let missing = await #expect(throws: SourceError.self) {
            try await FileSource(name: "t", path: directory.file("nope"), metric: "temp_c").collect()
        }
        #expect(missing?.code == .unreadable)
        try "warm".write(toFile: directory.file("text"), atomically: true, encoding: .utf8)
        let text = await #expect(throws: SourceError.self) {
            try await FileSource(name: "t", path: directory.file("text"), metric: "temp_c").collect()
        }
        #expect(text?.code == .badOutput)
    }

    @Test("system: host figures from /proc and statvfs; CPU from the second collection on")
    func system() async throws {
        let source = SystemSource(name: "system", diskPath: NSTemporaryDirectory(), prefix: "host")
        let first = try await source.collect().samples
        let names = Set(first.map(\.metric))
        #expect(names.isSuperset(of: ["host.mem_used_bytes", "host.disk_free_bytes", "host.uptime_s", "host.agent_rss_bytes"]))
        #expect(!names.contains("host.cpu_pct"))
        #expect(first.first { $0.metric == "host.agent_rss_bytes" }.map { $0.value > 1_000_000 } == true)
        // Burn a little CPU so the counters move, then collect again.
        var spin = 0.0
        for index in 0..<2_000_000 { spin += Double(index).squareRoot() }
        #expect(spin > 0)
        let second = try await source.collect().samples
        let cpu = try #require(second.first { $0.metric == "host.cpu_pct" })
        #expect((0...100).contains(cpu.value))
    }

    @Test("exec: output read, exit status checked, timeout and output cap enforced")
    func exec() async throws {
        let good = try await ExecSource(name: "e", command: ["/bin/sh", "-c", "echo a_w 1; echo b_w 2"]).collect()
        #expect(good.samples.map(\.metric) == ["a_w", "b_w"])
        let failed = await #expect(throws: SourceError.self) { try await ExecSource(name: "e", command: ["/bin/false"]).collect() }
        #expect(failed?.code == .commandFailed)
        // Killed at its timeout, long before it would end. The bound is far above the timeout:
        // the fast tier runs side by side on two cooperative threads, and on a loaded machine a
        // test's task waited about 50 s for one.
        let started = ContinuousClock.now
        let hung = await #expect(throws: SourceError.self) {
            try await ExecSource(name: "e", command: ["/bin/sh", "-c", "sleep 3600"], timeout: .milliseconds(300)).collect()
        }
        #expect(hung?.code == .timeout)
        #expect(started.duration(to: .now) < .seconds(600))
        let flood = await #expect(throws: SourceError.self) {
            try await ExecSource(name: "e", command: ["/usr/bin/yes"], maxOutputBytes: 4_096).collect()
        }
        #expect(flood?.code == .outputTooLarge)
        let missing = await #expect(throws: SourceError.self) { try await ExecSource(name: "e", command: ["/nonexistent/tool"]).collect() }
        #expect(missing?.code == .spawnFailed || missing?.code == .commandFailed)
    }
}
