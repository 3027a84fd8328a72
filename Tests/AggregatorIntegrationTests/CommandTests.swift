import Foundation
import OutpostSupport
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAggregator

/// Commands through the real broker: queued → sent → succeeded | failed | expired.
@Suite("Device commands", .serialized, .timeLimit(.minutes(3)))
struct CommandTests {
    @Test("a command reaches each end state: succeeded, failed, expired without an answer, expired by the agent")
    func endStates() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let configuration = try await fixture.configuration { $0.commands.resultGraceSeconds = 0 }
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["cam-1"])
            let device = try await fixture.device("cam-1") { command in
                switch command.name {
                case "ping": .success(id: command.id, output: ["pong": true])
                case "restart_agent": .failure(id: command.id, code: "failed", message: "not allowed here")
                case "start_stream": .failure(id: command.id, code: CommandResult.Failure.expired, message: "arrived late")
                default: nil
                }
            }
            let store = aggregator.commands
            func finish(_ name: String, ttl: Int = 60, args: JSONValue = [:]) async throws -> CommandRecord {
                let queued = try await store.enqueue(device: device.id, name: name, args: args, ttlSeconds: ttl, actor: "test")
                #expect(queued.status == .queued)
                var record = queued
                try await waitUntil(timeout: .seconds(30), "\(name) finished") {
                    record = try await store.find(id: queued.id) ?? record
                    return record.status.isFinal
                }
                return record
            }
            let ping = try await finish("ping", args: ["n": 1])
            #expect(ping.status == .succeeded)
            #expect(ping.output == ["pong": true])
            #expect(ping.sentAt != nil && ping.finishedAt != nil)
            #expect(device.commands.first { $0.id == ping.id }?.args == ["n": 1])

            let restart = try await finish("restart_agent")
            #expect(restart.status == .failed)
            #expect(restart.errorCode == "failed" && restart.errorMessage == "not allowed here")

            // Only a command still unexpired is sent: 5 s leaves room for the dispatch on a loaded machine.
            let silent = try await finish("collect_now", ttl: 5)
            #expect(silent.status == .expired)
            #expect(silent.sentAt != nil)
            #expect(device.commands.contains { $0.id == silent.id })

            let late = try await finish("start_stream")
            #expect(late.status == .expired)

            // A late result for a finished command changes nothing and is counted.
            try await device.client.publish(
                Topic(device.id, .cmdResult).name, payload: try WireCodec().encode(CommandResult.success(id: silent.id)))
            try await waitUntil(timeout: .seconds(20), "late result counted") {
                metricValue(aggregator.metrics.render(), "outpost_ingest_rejected_total", ["kind": "cmd_result", "reason": "unknown_command"]) == 1
            }
            #expect(try await store.find(id: silent.id)?.status == .expired)
            #expect(try await fixture.count("SELECT count(*) FROM audit_log WHERE action = 'command.send'") == 4)

            await #expect(throws: CommandError(.unknownDevice, "")) {
                try await store.enqueue(device: DeviceID("nobody")!, name: "ping", ttlSeconds: 10, actor: "test")
            }
            await #expect(throws: CommandError(.invalidName, "")) {
                try await store.enqueue(device: device.id, name: "Reboot!", ttlSeconds: 10, actor: "test")
            }
        }
    }

    @Test("outpost-aggregator cmd send --wait queues, waits and prints the finished command; NOTIFY dispatches it without polling")
    func commandLine() async throws {
        try await AggregatorFixture.withFixture { fixture in
            // Polling once a minute: only the insert trigger's notification can send the command within its 30 s TTL.
            let configuration = try await fixture.configuration { $0.commands.pollIntervalMs = 60_000 }
            try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["meter-c1"])
            _ = try await fixture.device("meter-c1") { .success(id: $0.id, output: ["seconds": $0.args["seconds"] ?? .null]) }
            let path = try fixture.writeConfiguration(configuration)
            // The service ticks once at start, then listens: a command queued before its LISTEN is
            // in place would wait for the next poll, a minute away.
            try await waitUntil(timeout: .seconds(30), "the command service listening") {
                try await fixture.psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"outpost_commands\";'") != "0"
            }
            let output = try await fixture.runBinary([
                "cmd", "send", "--config", path, "--device", "meter-c1", "--name", "set_interval", "--args", #"{"seconds":5}"#,
                "--ttl", "30", "--wait",
            ])
            let line = try #require(output.split(separator: "\n").last)
            let record = try JSONDecoder().decode(CommandRecord.self, from: Data(line.utf8))
            #expect(record.status == .succeeded)
            #expect(record.output == ["seconds": 5])
            #expect(record.createdBy.hasPrefix("cli:"))
            let shown = try await fixture.runBinary(["cmd", "show", "--config", path, record.id])
            #expect(shown.contains(#""status":"succeeded""#))
            await #expect(throws: (any Error).self) {
                try await fixture.runBinary(["cmd", "send", "--config", path, "--device", "nobody", "--name", "ping"])
            }
        }
    }
    @Test("a command queued while the service had no LISTEN in place is sent as soon as its LISTEN is back, not a poll later")
    func queuedWhileNotListening() async throws {
        try await AggregatorFixture.withFixture { fixture in
            // Polling once a minute: only the poll right after LISTEN can send the command within the wait below.
            let configuration = try await fixture.configuration { $0.commands.pollIntervalMs = 60_000 }
            let aggregator = try await fixture.startInProcess(configuration)
            try await fixture.addDevices(["meter-q1"])
            let device = try await fixture.device("meter-q1") { .success(id: $0.id) }
            let store = aggregator.commands
            // The store's pool may still hold a connection the test's terminate ended: a read
            // failing on it is retried on the next turn, as the pool replaces it.
            func finished(_ id: String) async throws {
                try await waitUntil(timeout: .seconds(20), "\(id) finished") { (try? await store.find(id: id))??.status.isFinal == true }
            }
            // A notified command first: the start's ticks are over once it is done.
            try await finished(try await store.enqueue(device: device.id, name: "ping", ttlSeconds: 60, actor: "test").id)
            let listener = "FROM pg_stat_activity WHERE query = 'LISTEN \"outpost_commands\";'"
            // Queued with triggers off, so nobody is notified; then the listener's connection ends.
            try await fixture.psql("""
                SET session_replication_role = replica;
                INSERT INTO commands (id, device, name, created_by, expires_at)
                VALUES ('cmd-unnoticed', 'meter-q1', 'ping', 'test', now() + interval '60 seconds')
                """)
            #expect(try await fixture.psql("SELECT count(pg_terminate_backend(pid)) \(listener)") == "1")
            try await finished("cmd-unnoticed")
            #expect(try await store.find(id: "cmd-unnoticed")?.status == .succeeded)
            #expect(try await fixture.count("SELECT count(*) \(listener)") == 1, "listening again")
        }
    }
}
