import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostCommon

/// The real `outpost-agent` process against a real mosquitto with TLS and the acking
/// aggregator stand-in: crashes, broker outages, caps, misbehaving sources, commands.
@Suite("outpost-agent process", .serialized, .timeLimit(.minutes(4)))
struct AgentProcessTests {
    @Test("every built-in command round-trips; unknown and expired commands get errors and are not run")
    func commandRoundTrip() async throws {
        try await AgentFixture.with(device: "meter-cmd") { fixture in
            let agent = try fixture.agent(fixture.configuration(sources: [.meter(intervalS: 3_600)]))
            try agent.start()
            let aggregator = fixture.aggregator
            let device = fixture.device
            // The first collection runs at start: one AC sample is five readings.
            try await waitUntil(timeout: .seconds(20), "first collection") { aggregator.storedCount == 5 }
            let later = WireClock.nowMs() + 60_000

            let ping = try await aggregator.run(Command(id: "c-ping", name: "ping", expiresAt: later), on: device)
            #expect(ping.ok)
            #expect(ping.output?["pong"] == .bool(true))
            #expect(ping.output?["version"] == .string(OutpostVersion.current))

            let collect = try await aggregator.run(Command(id: "c-collect", name: "collect_now", args: ["source": "meter"], expiresAt: later), on: device)
            #expect(collect.ok && collect.output?["sources"] == ["meter"])
            try await waitUntil(timeout: .seconds(20), "collect_now readings") { aggregator.storedCount == 10 }

            let expired = try await aggregator.run(Command(id: "c-expired", name: "collect_now", expiresAt: WireClock.nowMs() - 1_000), on: device)
            #expect(!expired.ok && expired.error?.code == "expired")
            let unknown = try await aggregator.run(Command(id: "c-unknown", name: "format_disk", expiresAt: later), on: device)
            #expect(!unknown.ok && unknown.error?.code == "unknown_command")
            let badArgs = try await aggregator.run(
                Command(id: "c-bad", name: "set_interval", args: ["source": "nope", "interval_s": 1], expiresAt: later), on: device)
            #expect(!badArgs.ok && badArgs.error?.code == "invalid_args")

            let interval = try await aggregator.run(
                Command(id: "c-interval", name: "set_interval", args: ["source": "meter", "interval_s": 0.05], expiresAt: later), on: device)
            #expect(interval.ok)
            #expect(interval.output?["old_interval_s"] == .number(3_600))
            try await waitUntil(timeout: .seconds(20), "readings at the new interval") { aggregator.storedCount >= 100 }
            // The expired collect_now never ran: before set_interval exactly 10 readings had arrived.

            let restart = try await aggregator.run(Command(id: "c-restart", name: "restart_agent", expiresAt: later), on: device)
            #expect(restart.ok && restart.output?["restarting"] == .bool(true))
            let code = try await agent.waitForExit(timeout: .seconds(10))
            #expect(code == 0)
            let states = aggregator.snapshot.states
            #expect(states.first?.status == .online)
            try await waitUntil(timeout: .seconds(10), "offline state") { aggregator.snapshot.states.last?.status == .offline }
        }
    }
}
