import Foundation
import OutpostAggregator
import OutpostWire
import Testing
import TestHarness

extension IdentityFixture {
    /// The fixture's configuration as an `aggregator.json` for the command-line tools.
    func writeConfigurationFile() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let path = directory.file("aggregator.json")
        try encoder.encode(configuration).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite("outpost-aggregator and outpost-agent enroll as processes", .serialized, .timeLimit(.minutes(3)))
struct CommandLineTests {
    @Test("ca init refuses to overwrite; token create prints the enroll line; enroll succeeds once and fails in one line after")
    func operatorFlow() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let config = try fixture.writeConfigurationFile()
            let aggregator = try CommandRun.executable("outpost-aggregator")
            let agent = try CommandRun.executable("outpost-agent")

            let caBefore = try String(contentsOfFile: fixture.caFile, encoding: .utf8)
            let again = try await CommandRun.run(aggregator, ["ca", "init", "--config", config])
            #expect(again.status != 0)
            #expect(again.stderr.hasPrefix("error: ca_exists:"))
            #expect(try String(contentsOfFile: fixture.caFile, encoding: .utf8) == caBefore)

            let created = try await CommandRun.run(aggregator, ["token", "create", "--config", config, "--device", "meter-cli", "--ttl", "10m"])
            #expect(created.status == 0, "\(created.stderr)")
            let tokenLine = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("token: ") })
            let token = String(tokenLine.dropFirst("token: ".count))
            #expect(EnrollmentToken(token)?.device.rawValue == "meter-cli")
            #expect(EnrollmentToken(token)?.caFingerprint == fixture.authority.fingerprint)
            let enrollLine = "outpost-agent enroll --server \(fixture.serverURL) --token \(token)"
            #expect(created.stdout.contains(enrollLine))
            #expect(!created.stderr.contains(token))
            #expect(try await fixture.postgres.psql("SELECT kind FROM devices WHERE id = 'meter-cli'") == "meter")
            #expect(try await fixture.postgres.psql("SELECT actor || ' ' || target FROM audit_log WHERE action = 'enrollment_token.create'")
                    == "cli:root device:meter-cli", "the CLI audits as the API does (run without USER here)")
            #expect(try await fixture.postgres.psql("SELECT count(*) FROM enrollment_tokens WHERE token_hash = '\(EnrollmentService.tokenHash(EnrollmentToken(token)!))'") == "1")
            #expect(try await fixture.postgres.psql("SELECT count(*) FROM enrollment_tokens WHERE token_hash LIKE '%\(token.split(separator: ".")[2])%'") == "0")

            let configDirectory = fixture.directory.file("cli-device")
            let badFingerprint = try await CommandRun.run(agent, ["enroll", "--server", fixture.serverURL, "--token", token,
                                                            "--ca-fingerprint", String(repeating: "0", count: 64), "--config-dir", configDirectory])
            #expect(badFingerprint.status == 4)
            #expect(badFingerprint.stderr.hasPrefix("enroll failed: fingerprint_mismatch:"))
            let unreachable = try await CommandRun.run(agent, ["enroll", "--server", "https://127.0.0.1:\(try FreePort.next())", "--token", token,
                                                         "--config-dir", configDirectory])
            #expect(unreachable.status == 3)
            #expect(unreachable.stderr.hasPrefix("enroll failed: unreachable:"))
            let garbage = try await CommandRun.run(agent, ["enroll", "--server", fixture.serverURL, "--token", "hello", "--config-dir", configDirectory])
            #expect(garbage.status == 2)
            #expect(garbage.stderr.hasPrefix("enroll failed: invalid_token:"))
            #expect(!FileManager.default.fileExists(atPath: configDirectory + "/device.key"))

            let enrolled = try await CommandRun.run(agent, ["enroll", "--server", fixture.serverURL, "--token", token,
                                                      "--ca-fingerprint", fixture.authority.fingerprint.hex, "--config-dir", configDirectory])
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            #expect(enrolled.stdout.hasPrefix("enrolled meter-cli: certificate "))
            #expect(try fileMode(configDirectory + "/device.key") == 0o600)
            let check = try await CommandRun.run(agent, ["check-config", "--config", configDirectory + "/agent.json"])
            #expect(check.status == 0, "\(check.stdout)")

            let used = try await CommandRun.run(agent, ["enroll", "--server", fixture.serverURL, "--token", token, "--config-dir", configDirectory])
            #expect(used.status == 5)
            #expect(used.stderr.hasPrefix("enroll failed: token_used:"))
            for run in [badFingerprint, unreachable, garbage, used] {
                #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
                #expect(!run.stderr.contains(token.split(separator: ".")[2]))
            }
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}
