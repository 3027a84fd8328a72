import Foundation
import OutpostWire
import Testing
@testable import OutpostSimulator

@Suite("Simulator parts without a network: options, token file, meter rate, report")
struct SimulationTests {
    @Test("durations: units, fractions, 0; garbage refused")
    func durations() {
        #expect(SimulationOptions.parseDuration("0s") == .zero)
        #expect(SimulationOptions.parseDuration("0") == .zero)
        #expect(SimulationOptions.parseDuration("30s") == .seconds(30))
        #expect(SimulationOptions.parseDuration("5m") == .seconds(300))
        #expect(SimulationOptions.parseDuration("1.5h") == .seconds(5_400))
        #expect(SimulationOptions.parseDuration("250ms") == .milliseconds(250))
        for bad in ["", "s", "5", "-1s", "5x", "1e3s", "5 m", "100000d"] {
            #expect(SimulationOptions.parseDuration(bad) == nil, "\(bad)")
        }
    }

    @Test("options: bad values get a clear invalid_argument")
    func options() throws {
        func make(rate: Double = 1, devices: Int? = nil, server: String = "https://x:1", drain: Duration = .seconds(1)) throws {
            _ = try SimulationOptions(server: server, tokensFile: "t", stateDirectory: "d", devices: devices, rate: rate, drainTimeout: drain)
        }
        try make()
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(rate: 0) }
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(rate: .nan) }
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(rate: 20_000) }
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(devices: 0) }
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(server: "http://x:1") }
        #expect(throws: SimulationError(.invalidArgument, "")) { try make(drain: .zero) }
        #expect(SimulationError.Code.invalidArgument.exitStatus == 2)
    }

    @Test("token file: one token a line, comments and blanks skipped; a bad line or a repeated device refused without echoing it")
    func tokenFile() throws {
        let fingerprint = CertificateFingerprint(String(repeating: "ab", count: 32))!
        func token(_ device: String) -> String {
            EnrollmentToken(device: DeviceID(device)!, secret: [UInt8](repeating: 7, count: EnrollmentToken.secretLength), caFingerprint: fingerprint).printed
        }
        let file = try TokenFile(text: "# fleet\n\(token("sim-00001"))\n\n  \(token("sim-00002"))  \n")
        #expect(file.entries.map(\.device.rawValue) == ["sim-00001", "sim-00002"])
        #expect(file.entries[0].token.value == token("sim-00001"))
        #expect("\(file.entries[0].token)" == "<redacted>")
        do {
            _ = try TokenFile(text: "\(token("sim-00001"))\nopt1.secret-garbage\n", path: "f")
            Issue.record("a bad line was accepted")
        } catch {
            #expect(error.code == .invalidTokenFile)
            #expect(error.context == "f line 2 is not an enrollment token (opt1.…)")
        }
        #expect(throws: SimulationError(.invalidTokenFile, "")) { try TokenFile(text: "\(token("a1"))\n\(token("a1"))\n") }
        #expect(throws: SimulationError(.invalidTokenFile, "")) { try TokenFile(text: "\n# nothing\n") }
    }

    @Test("the meter owes rate × elapsed readings, one at once at the start, whatever the call pattern")
    func meterRate() async throws {
        let meter = SimulatedMeter(rate: 50, seed: 1)
        #expect(meter.interval == .milliseconds(100))
        #expect(SimulatedMeter(rate: 2, seed: 1).interval == .milliseconds(500))
        #expect(SimulatedMeter(rate: 0.5, seed: 1).interval == .seconds(2))
        let started = ContinuousClock.now
        var total = try await meter.collect().samples.count
        #expect(total == 1)
        try await Task.sleep(for: .milliseconds(300))
        total += try await meter.collect().samples.count
        let elapsed = started.duration(to: .now)
        let upper = Int((50 * Double(elapsed.components.seconds) + 50 * Double(elapsed.components.attoseconds) / 1e18).rounded(.down)) + 1
        #expect(total >= 16 && total <= upper, "\(total) readings after \(elapsed)")
        let samples = try await meter.collect().samples + (try await meter.collect().samples)
        #expect(samples.allSatisfy { ["voltage_v", "current_a", "power_w", "energy_wh", "frequency_hz"].contains($0.metric) && $0.value.isFinite })
    }

    @Test("the report: contract keys, sums, the buffer id as PostgreSQL stores it")
    func report() throws {
        let buffer = BufferID(0xffff_ffff_ffff_fffe)
        let report = SimulationReport(
            snapshots: [
                DeviceSnapshot(device: DeviceID("sim-00001")!, buffer: buffer, lastSeq: 100, pending: 0, dropped: 0, ackedThisRun: 60),
                DeviceSnapshot(device: DeviceID("sim-00002")!, buffer: BufferID(5), lastSeq: 50, pending: 10, dropped: 2, ackedThisRun: 20),
            ],
            timing: .init(outcome: .drainTimeout, captureSeconds: 2, drainSeconds: 2))
        #expect(report.captured == 150 && report.pending == 10 && report.dropped == 2 && report.acked == 138)
        #expect(report.readingsPerSecond == 20)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["devices", "captured", "acked", "pending", "dropped", "capture_seconds", "drain_seconds",
                                     "readings_per_second", "outcome", "per_device"])
        let first = try #require((object["per_device"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["device", "buffer", "last_seq", "pending", "dropped"])
        #expect(first["buffer"] as? String == "-2")
        #expect(!report.json.contains("\n"))
        #expect(report.outcome == "drain_timeout")
    }
}
