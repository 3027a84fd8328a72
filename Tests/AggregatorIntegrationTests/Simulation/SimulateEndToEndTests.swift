import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostSupport
import OutpostWire
import OutpostSimulator
import Testing
import TestHarness

@Suite("outpost-simulator and bulk tokens, end to end through TLS, the ACL, the aggregator and PostgreSQL",
       .serialized, .timeLimit(.minutes(5)))
struct SimulateEndToEndTests {
    @Test("token create --device-prefix: N distinct single-use tokens in a 0600 file, nothing secret on stdout")
    func bulkTokens() async throws {
        try await SimulationFixture.withFixture { fixture in
            let (file, created) = try await fixture.createTokens(prefix: "bulk-", count: 12)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(try fileMode(file) == 0o600)
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
            let tokens = lines.compactMap(EnrollmentToken.init)
            #expect(tokens.count == 12 && lines.count == 12)
            #expect(tokens.map(\.device.rawValue) == (1...12).map { String(format: "bulk-%05d", $0) })
            #expect(Set(lines).count == 12)
            #expect(tokens.allSatisfy { $0.caFingerprint == fixture.broker.identity.authority.fingerprint })
            for line in lines {
                let secret = String(line.split(separator: ".")[2])
                #expect(!created.stdout.contains(secret) && !created.stderr.contains(secret))
            }
            #expect(created.stdout.contains("created 12 tokens (meter) for bulk-00001 … bulk-00012"), "\(created.stdout)")
            #expect(created.stdout.split(separator: "\n").count == 1)
            let hashes = tokens.map { "'\(EnrollmentService.tokenHash($0))'" }.joined(separator: ",")
            #expect(try await fixture.psql("SELECT count(*) FROM enrollment_tokens WHERE token_hash IN (\(hashes)) AND used_at IS NULL") == "12")
            #expect(try await fixture.psql("SELECT count(*) FROM devices WHERE id LIKE 'bulk-%' AND kind = 'meter'") == "12")

            // Single use: the first enrollment works, the second with the same token is refused.
            let first = Enrollment(server: fixture.serverURL, token: lines[0], configDirectory: fixture.directory.file("bulk-a"))
            _ = try await first.run()
            let again = Enrollment(server: fixture.serverURL, token: lines[0], configDirectory: fixture.directory.file("bulk-b"))
            do {
                _ = try await again.run()
                Issue.record("a used token enrolled again")
            } catch let error as EnrollmentError {
                #expect(error.code == .refused && error.serverCode == "token_used", "\(error)")
            }

            // Bad arguments: a clear error, a nonzero exit, no file.
            let aggregator = try CommandRun.executable("outpost-aggregator")
            let noOut = try await CommandRun.run(aggregator, ["token", "create", "--config", fixture.configPath, "--device-prefix", "x-", "--count", "3"])
            #expect(noOut.status != 0 && noOut.stderr.contains("--out FILE is required"), "\(noOut.stderr)")
            let both = try await CommandRun.run(aggregator, ["token", "create", "--config", fixture.configPath, "--device", "d1", "--device-prefix", "x-",
                                                          "--count", "1", "--out", fixture.directory.file("both.txt")])
            #expect(both.status != 0 && !FileManager.default.fileExists(atPath: fixture.directory.file("both.txt")))
            let badPrefix = try await CommandRun.run(aggregator, ["token", "create", "--config", fixture.configPath, "--device-prefix", "Bad_",
                                                               "--count", "1", "--out", fixture.directory.file("bad.txt")])
            #expect(badPrefix.status != 0 && badPrefix.stderr.contains("--device-prefix"), "\(badPrefix.stderr)")
        }
    }

    @Test("20 devices × 20 readings/s × 5 s: every reading stored exactly once; each device on its own certificate under the ACL")
    func fleetEndToEnd() async throws {
        try await SimulationFixture.withFixture { fixture in
            let (tokens, created) = try await fixture.createTokens(prefix: "sim-", count: 20)
            #expect(created.status == 0, "\(created.stderr)")
            let stateDir = fixture.directory.file("fleet")
            let reportFile = fixture.directory.file("report.json")
            let log = fixture.directory.file("simulate.log")
            let simulator = try fixture.startSimulator(
                tokens: tokens, stateDir: stateDir, extra: ["--rate", "20", "--duration", "5s", "--drain-timeout", "90s", "--report", reportFile],
                log: log)
            let status = try await fixture.exitStatus(of: simulator, timeout: .seconds(150))
            #expect(status == 0, "\(simulator.log.suffix(3_000))")
            let reportText = try String(contentsOfFile: reportFile, encoding: .utf8)
            let report = try JSONDecoder().decode(SimulationReport.self, from: Data(reportText.utf8))
            // The same summary is the last line on stdout.
            #expect(simulator.log.split(separator: "\n").last.map(String.init) == reportText.trimmingCharacters(in: .newlines))

            #expect(report.devices == 20 && report.perDevice.count == 20)
            #expect(report.outcome == "drained")
            #expect(report.pending == 0 && report.dropped == 0)
            #expect(report.acked == report.captured)
            // 20 readings/s for about 5 s each: allow for a slow start on a loaded machine.
            #expect(report.captured >= 20 * 20 * 4 && report.captured <= 20 * 20 * 7, "captured \(report.captured)")
            #expect(report.captureSeconds >= 5 && report.captureSeconds < 8)
            #expect(report.readingsPerSecond > 0)
            var lastSeqs: Int64 = 0
            for entry in report.perDevice {
                let file = try await fixture.checkExactlyOnce(stateDir: stateDir, device: entry.device)
                #expect(entry.buffer == String(file.buffer) && entry.lastSeq == file.lastSeq && entry.pending == 0)
                lastSeqs += file.lastSeq
            }
            #expect(report.captured == lastSeqs)
            #expect(try await fixture.psql("SELECT count(*) FROM readings WHERE device LIKE 'sim-%'") == "\(lastSeqs)")

            // Each device has its own key and certificate, issued to its own id.
            var serials: Set<String> = []
            for entry in report.perDevice {
                #expect(try fileMode(stateDir + "/" + entry.device + "/device.key") == 0o600)
                serials.insert(try await fixture.psql("SELECT serial FROM certificates WHERE device_id = '\(entry.device)'"))
            }
            #expect(serials.count == 20 && !serials.contains(""))

            // The broker's ACL applies to simulated devices: sim-00001's certificate cannot publish
            // for sim-00002. The forged batch never reaches PostgreSQL; a batch on its own topic,
            // sent right after it on the same connection, does.
            let configuration = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: stateDir + "/sim-00001/agent.json")
            let forger = try WatchedClient(configuration.mqtt, clientID: "sim-00001", logger: fixture.broker.identity.logs.logger("forger"))
            do {
                try await checkACL(fixture, forger)
            } catch {
                await forger.shutdown()
                throw error
            }
            await forger.shutdown()
        }
    }

    /// Publishes as sim-00001 on sim-00002's topic (forged), then on its own; waits for its own batch in PostgreSQL.
    private func checkACL(_ fixture: SimulationFixture, _ forger: WatchedClient) async throws {
        try await forger.waitConnected()
        let codec = WireCodec()
        let forgedBuffer = BufferID(0x0bad_0bad_0bad_0bad), ownBuffer = BufferID(0x0600_d600_d600_d600)
        func batch(_ device: String, _ buffer: BufferID) throws -> [UInt8] {
            try codec.encode(TelemetryBatch(device: DeviceID(device)!, buffer: buffer, readings: [
                Reading(seq: 1, ts: WireClock.nowMs(), metric: "power_w", value: 1),
            ]))
        }
        try? await forger.client.publish(Topic(DeviceID("sim-00002")!, .telemetry).name, payload: try batch("sim-00002", forgedBuffer))
        try await forger.client.publish(Topic(DeviceID("sim-00001")!, .telemetry).name, payload: try batch("sim-00001", ownBuffer))
        try await waitUntil(timeout: .seconds(30), "sim-00001's own batch stored") {
            try await fixture.psql("SELECT count(*) FROM readings WHERE buffer = \(ownBuffer.signedBitPattern)") == "1"
        }
        #expect(try await fixture.psql("SELECT count(*) FROM readings WHERE buffer = \(forgedBuffer.signedBitPattern)") == "0")
    }

    @Test("kill -9 mid-capture, then the same command with --duration 0s: the invariant holds afterwards")
    func killAndDrain() async throws {
        try await SimulationFixture.withFixture { fixture in
            let (tokens, created) = try await fixture.createTokens(prefix: "crash-", count: 8)
            #expect(created.status == 0, "\(created.stderr)")
            let stateDir = fixture.directory.file("crash-fleet")
            let first = try fixture.startSimulator(tokens: tokens, stateDir: stateDir, extra: ["--rate", "50", "--duration", "120s"],
                                                   log: fixture.directory.file("crash-1.log"))
            // Killed while capturing and publishing: some readings stored, others still in the buffers.
            try await waitUntil(timeout: .seconds(90), "readings of every device stored") {
                guard first.isRunning else { throw HarnessError("simulator exited: \(first.log.suffix(2_000))") }
                return try await fixture.psql("SELECT count(DISTINCT device) FROM readings WHERE device LIKE 'crash-%'") == "8"
            }
            await first.crash()
            var before: [BufferFile] = []
            for device in 1...8 { before.append(try await BufferFile.read(stateDir + String(format: "/crash-%05d/buffer.db", device))) }
            #expect(before.allSatisfy { $0.lastSeq > 0 })

            let report = fixture.directory.file("crash-report.json")
            let second = try fixture.startSimulator(tokens: tokens, stateDir: stateDir,
                                                    extra: ["--duration", "0s", "--drain-timeout", "60s", "--report", report],
                                                    log: fixture.directory.file("crash-2.log"))
            #expect(try await fixture.exitStatus(of: second, timeout: .seconds(120)) == 0, "\(second.log.suffix(3_000))")
            let summary = try JSONDecoder().decode(SimulationReport.self, from: Data(contentsOf: URL(fileURLWithPath: report)))
            #expect(summary.outcome == "drained" && summary.pending == 0 && summary.devices == 8)
            #expect(summary.captureSeconds < 1)
            for (index, device) in (1...8).map({ String(format: "crash-%05d", $0) }).enumerated() {
                let after = try await fixture.checkExactlyOnce(stateDir: stateDir, device: device)
                // Drain only: no new reading was captured, and the buffer is the same one.
                #expect(after.lastSeq == before[index].lastSeq && after.buffer == before[index].buffer)
            }
            // The restart reused every enrollment: still one certificate per device.
            #expect(try await fixture.psql("SELECT count(*) FROM certificates WHERE device_id LIKE 'crash-%'") == "8")
        }
    }
}
