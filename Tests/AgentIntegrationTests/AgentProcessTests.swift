import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostSupport
@testable import OutpostWire

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
            try await aggregator.wait(timeout: .seconds(20), "first collection") { $0.storedCount == 5 }
            let later = WireClock.nowMs() + 60_000

            let ping = try await aggregator.run(Command(id: "c-ping", name: "ping", expiresAt: later), on: device)
            #expect(ping.ok)
            #expect(ping.output?["pong"] == .bool(true))
            #expect(ping.output?["version"] == .string(OutpostVersion.current))

            let collect = try await aggregator.run(Command(id: "c-collect", name: "collect_now", args: ["source": "meter"], expiresAt: later), on: device)
            #expect(collect.ok && collect.output?["sources"] == ["meter"])
            try await aggregator.wait(timeout: .seconds(20), "collect_now readings") { $0.storedCount == 10 }

            let expired = try await aggregator.run(Command(id: "c-expired", name: "collect_now", expiresAt: WireClock.nowMs() - 1_000), on: device)
            #expect(!expired.ok && expired.error?.code == "expired")
            let unknown = try await aggregator.run(Command(id: "c-unknown", name: "format_disk", expiresAt: later), on: device)
            #expect(!unknown.ok && unknown.error?.code == "unknown_command")
            let badArgs = try await aggregator.run(
                Command(id: "c-bad", name: "set_interval", args: ["source": "nope", "interval_s": 1], expiresAt: later), on: device)
            #expect(!badArgs.ok && badArgs.error?.code == "invalid_args")

            try aggregator.sendRaw(#"{"v":1,"id":"c-malformed","name":"ping","args":[]}"#, to: device)
            try await aggregator.wait(timeout: .seconds(20), "result of a malformed command") { $0.results["c-malformed"] != nil }
            #expect(aggregator.snapshot.results["c-malformed"]?.error?.code == "invalid_args")

            let interval = try await aggregator.run(
                Command(id: "c-interval", name: "set_interval", args: ["source": "meter", "interval_s": 0.05], expiresAt: later), on: device)
            #expect(interval.ok)
            #expect(interval.output?["old_interval_s"] == .number(3_600))
            try await aggregator.wait(timeout: .seconds(20), "readings at the new interval") { $0.storedCount >= 100 }
            // The expired collect_now never ran: before set_interval exactly 10 readings had arrived.

            let restart = try await aggregator.run(Command(id: "c-restart", name: "restart_agent", expiresAt: later), on: device)
            #expect(restart.ok && restart.output?["restarting"] == .bool(true))
            let code = try await agent.waitForExit(timeout: .seconds(10))
            #expect(code == AgentLifecycle.restartExitCode, "restart_agent exits 75 so systemd's RestartForceExitStatus restarts it")
            let states = aggregator.snapshot.states
            #expect(states.first?.status == .online)
            try await aggregator.wait(timeout: .seconds(10), "offline state") { $0.states.last?.status == .offline }
        }
    }

    @Test("kill -9 at random points during a burst, three times, then restart: every captured reading is stored, none lost")
    func crashDuringBurst() async throws {
        try await AgentFixture.with(device: "meter-crash") { fixture in
            // 0.02 s × 40 AC samples × 5 metrics: up to 10,000 readings per second.
            let burst = fixture.configuration(sources: [.meter(intervalS: 0.02, samplesPerCollect: 40)])
            let agent = try fixture.agent(burst)
            let aggregator = fixture.aggregator
            var random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
            var kills: [Int] = []
            for round in 1...3 {
                try agent.start()
                let threshold = round * 4_000 + Int(random.next() % 2_000)
                try await aggregator.wait(timeout: .seconds(60), "round \(round): \(threshold) readings stored") { $0.storedCount >= threshold }
                // In round 2 the centre stores but stops acking first, as if it died after its
                // commit: the agent must re-send those batches after its own restart.
                if round == 2 { aggregator.setAcking(false) }
                // A random extra moment, so the kill lands anywhere in capture, commit, publish or ack handling.
                try await Task.sleep(for: .milliseconds(Int(random.next() % 300)))
                await agent.crash()
                aggregator.setAcking(true)
                kills.append(aggregator.storedCount)
            }
            // Restart with no sources: the backlog drains and nothing new is captured.
            try agent.write(fixture.configuration(sources: []))
            try agent.start()
            try await waitUntil(timeout: .seconds(60), "buffer drained") {
                guard let status = agent.status(), status.connection == "connected" else { return false }
                return status.bufferDepth == 0 && aggregator.storedCount == Int(status.lastSeq)
            }
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            let (stats, left) = try agent.bufferContents()
            let record = aggregator.snapshot
            #expect(record.stored.count == 1, "one buffer across every restart")
            let stored = record.stored[stats.buffer] ?? []
            #expect(left.isEmpty && stats.depth == 0, "everything captured was acked and deleted")
            #expect(stats.lastSeq >= 10_000, "the burst captured at least 10,000 readings")
            #expect(stats.dropped == 0)
            #expect(stored.count == Int(stats.lastSeq), "every seq from 1 to the last captured arrived")
            #expect(stored.min() == 1 && stored.max() == stats.lastSeq)
            print("crash test: kills after \(kills) stored readings; \(stats.lastSeq) captured, \(stored.count) stored, \(record.duplicates) re-deliveries de-duplicated")
        }
    }

    @Test("a broker outage: readings buffer on disk, then drain oldest first once it is back, none lost")
    func brokerOutage() async throws {
        try await AgentFixture.with(device: "meter-outage", persistence: true) { fixture in
            let agent = try fixture.agent(fixture.configuration(sources: [.meter(intervalS: 0.05, samplesPerCollect: 4)]))
            let aggregator = fixture.aggregator
            try agent.start()
            try await aggregator.wait(timeout: .seconds(30), "readings flowing") { $0.storedCount >= 500 }
            await fixture.broker.stop()
            var depthDuringOutage = 0
            var lastSeqDuringOutage: Int64 = 0
            try await waitUntil(timeout: .seconds(30), "a backlog on disk") {
                guard let status = agent.status(), status.connection == "disconnected", status.bufferDepth >= 1_000 else { return false }
                depthDuringOutage = status.bufferDepth
                lastSeqDuringOutage = status.lastSeq
                return true
            }
            let storedBefore = aggregator.storedCount
            try await fixture.broker.start()
            let backlogEnd = lastSeqDuringOutage
            try await aggregator.wait(timeout: .seconds(60), "the backlog drained") { record in
                let stored = record.stored.values.first ?? []
                return (1...backlogEnd).allSatisfy { stored.contains($0) }
            }
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            #expect(stopped.elapsed < .seconds(10))
            print("outage test: SIGTERM to exit took \(stopped.elapsed)")
            let (stats, left) = try agent.bufferContents()
            let stored = aggregator.snapshot.stored[stats.buffer] ?? []
            let union = stored.union(left)
            #expect(union.count == Int(stats.lastSeq) && union.min() == 1 && union.max() == stats.lastSeq,
                    "every captured reading is either stored or still on disk")
            #expect(stats.dropped == 0)
            #expect(depthDuringOutage >= 1_000)
            print("outage test: \(storedBefore) stored before, \(depthDuringOutage) buffered during the outage, \(stats.lastSeq) captured, \(left.count) still on disk at stop")
        }
    }

    @Test("with a small cap and no acks the oldest readings are dropped, and the drop count is exact")
    func smallCapDropsOldest() async throws {
        try await AgentFixture.with(device: "meter-cap") { fixture in
            fixture.aggregator.setAcking(false)
            var buffer = BufferSettings(commitIntervalMs: 100)
            buffer.maxRows = 500
            let agent = try fixture.agent(fixture.configuration(sources: [.meter(intervalS: 0.02, samplesPerCollect: 4)], buffer: buffer))
            try agent.start()
            try await fixture.aggregator.wait(timeout: .seconds(30), "drops reported in the device state") { record in
                record.states.contains { ($0.dropped ?? 0) > 1_000 }
            }
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            let (stats, left) = try agent.bufferContents()
            #expect(stats.depth == 500)
            #expect(stats.dropped == stats.lastSeq - 500)
            #expect(left == Array((stats.lastSeq - 499)...stats.lastSeq), "the newest 500 remain")
            let reported = fixture.aggregator.snapshot.states.compactMap(\.dropped).max() ?? 0
            #expect(reported > 1_000 && reported <= stats.dropped)
            let events = fixture.aggregator.snapshot.events.filter { $0.kind == DeviceEvent.Kind.bufferDropped }
            #expect(!events.isEmpty)
        }
    }

    @Test("exec sources that print garbage, hang, or print megabytes do not stop the agent or the other sources")
    func misbehavingExecSources() async throws {
        try await AgentFixture.with(device: "meter-exec") { fixture in
            let sources: [SourceConfiguration] = [
                .meter(intervalS: 0.1),
                .exec(name: "garbage", intervalS: 0.2, command: ["/bin/sh", "-c", "head -c 4000 /dev/urandom; echo; echo 'not a reading'"]),
                .exec(name: "hangs", intervalS: 0.2, command: ["/bin/sh", "-c", "sleep 30"], timeoutS: 0.5),
                .exec(name: "floods", intervalS: 0.2, command: ["/usr/bin/yes", "flood_metric 1"], maxOutputBytes: 65_536),
                .exec(name: "good", intervalS: 0.2, command: ["/bin/sh", "-c", "echo good_metric 42; echo '{bad'"]),
            ]
            let agent = try fixture.agent(fixture.configuration(sources: sources))
            try agent.start()
            // The source_error events come through the broker, after the status file has counted the
            // failures: each bad source's event is awaited with them, not read once afterwards.
            func failingSources() -> Set<String> {
                Set(fixture.aggregator.snapshot.events.filter { $0.kind == DeviceEvent.Kind.sourceError }
                    .compactMap { $0.data["source"]?.stringValue })
            }
            try await waitUntil(timeout: .seconds(40), "several failures of each bad source while the others flow") {
                guard let counters = agent.status()?.sources else { return false }
                return (counters["garbage"]?.failures ?? 0) >= 3 && (counters["hangs"]?.failures ?? 0) >= 3
                    && (counters["floods"]?.failures ?? 0) >= 3 && (counters["good"]?.samples ?? 0) >= 5
                    && (fixture.aggregator.snapshot.byMetric["power_w"] ?? 0) >= 20
                    && failingSources().isSuperset(of: ["garbage", "hangs", "floods"])
            }
            #expect(agent.isRunning)
            let counters = try #require(agent.status()?.sources)
            #expect(counters["garbage"]?.lastError?.hasPrefix("bad_output") == true)
            #expect(counters["hangs"]?.lastError?.hasPrefix("timeout") == true)
            #expect(counters["floods"]?.lastError?.hasPrefix("output_too_large") == true)
            #expect((counters["good"]?.rejected ?? 0) >= 5, "the bad line of the good source is counted")
            let record = fixture.aggregator.snapshot
            #expect((record.byMetric["good_metric"] ?? 0) >= 5)
            #expect(record.byMetric["flood_metric"] == nil)
            #expect(failingSources() == ["garbage", "hangs", "floods"])
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            #expect(stopped.elapsed < .seconds(10), "SIGTERM exits within 10 s even with a command hanging")
            print("exec test: SIGTERM to exit with a command hanging took \(stopped.elapsed)")
        }
    }

    @Test("a large backlog: memory stays flat, status reports it, and it drains oldest first at the configured rate")
    func largeBacklog() async throws {
        try await AgentFixture.with(device: "meter-backlog") { fixture in
            let aggregator = fixture.aggregator
            aggregator.setAcking(false)
            let publisher = PublisherSettings(batchSize: 1_000, window: 8, ackTimeoutS: 2, drainRate: 5_000, stateIntervalS: 5)
            let agent = try fixture.agent(fixture.configuration(sources: [.meter(intervalS: 0.02, samplesPerCollect: 40)], publisher: publisher))
            try agent.start()
            try await waitUntil(timeout: .seconds(60), "10,000 readings captured") { (agent.status()?.lastSeq ?? 0) >= 10_000 }
            let early = try #require(agent.residentBytes())
            try await waitUntil(timeout: .seconds(90), "40,000 readings captured") { (agent.status()?.lastSeq ?? 0) >= 40_000 }
            let late = try #require(agent.residentBytes())
            #expect(late - early < 16 << 20, "RSS grew \(late - early) bytes while the backlog grew by 30,000 readings")

            let status = try await agent.runStatus()
            #expect(status.code == 0, "\(status.output)")
            #expect(status.output.contains("agent:        running"))
            #expect(status.output.contains("connection:   connected"))
            #expect(status.output.contains("certificate:  expires"))
            #expect(status.output.contains("last ack:     never"))

            // Stop capturing, then let the centre ack: the backlog drains, oldest first, at ≤ 5,000/s.
            let stop = try await aggregator.run(
                Command(id: "slow", name: "set_interval", args: ["source": "meter", "interval_s": 3_600], expiresAt: WireClock.nowMs() + 60_000),
                on: fixture.device)
            #expect(stop.ok)
            try await waitUntil(timeout: .seconds(10), "capture stopped") {
                guard let first = agent.status() else { return false }
                try await Task.sleep(for: .milliseconds(2_100))
                return agent.status()?.lastSeq == first.lastSeq
            }
            let backlog = try #require(agent.status()).lastSeq
            let alreadyStored = aggregator.storedCount
            let order = aggregator.snapshot.firstNewSeqs.count
            let started = ContinuousClock.now
            aggregator.setAcking(true)
            try await waitUntil(timeout: .seconds(90), "backlog of \(backlog) drained") {
                aggregator.storedCount == Int(backlog) && agent.status()?.bufferDepth == 0
            }
            let elapsed = started.duration(to: .now)
            let drained = Int(backlog) - alreadyStored
            // The bucket starts full (1 s of rate), so at most 5,000 + 5,000/s × t can go.
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            #expect(Double(drained) <= 5_000 + 5_000 * seconds + 1_000)
            let arrivals = Array(aggregator.snapshot.firstNewSeqs.dropFirst(order))
            #expect(zip(arrivals, arrivals.dropFirst()).allSatisfy { $0 < $1 }, "new readings arrive oldest first")
            print("backlog test: RSS \(early >> 20) MiB at 10k readings, \(late >> 20) MiB at 40k; drained \(drained) in \(elapsed) (limit 5,000/s)")
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            let after = try await agent.runStatus()
            #expect(after.code == 3)
            #expect(after.output.contains("agent:        not running"))
            #expect(after.output.contains("buffer:       ") && after.output.contains(", 0 readings"))
        }
    }

    @Test("a damaged buffer file is moved aside at start-up, reported, and a fresh buffer carries on")
    func damagedBufferAtStartUp() async throws {
        try await AgentFixture.with(device: "meter-damaged") { fixture in
            let configuration = fixture.configuration(sources: [.meter(intervalS: 0.05)])
            try FileManager.default.createDirectory(atPath: configuration.stateDir, withIntermediateDirectories: true)
            try Data(repeating: 0x5A, count: 64 * 1024).write(to: URL(fileURLWithPath: configuration.bufferPath))
            let agent = try fixture.agent(configuration)
            try agent.start()
            let aggregator = fixture.aggregator
            try await aggregator.wait(timeout: .seconds(20), "a buffer_recovered event and fresh readings") { record in
                record.events.contains { $0.kind == DeviceEvent.Kind.bufferRecovered } && record.storedCount >= 20
            }
            let event = try #require(aggregator.snapshot.events.first { $0.kind == DeviceEvent.Kind.bufferRecovered })
            let movedTo = try #require(event.data["moved_to"]?.stringValue)
            #expect(movedTo.hasPrefix(configuration.bufferPath + ".corrupt-"))
            #expect(FileManager.default.fileExists(atPath: movedTo))
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            #expect(agent.log.contains("buffer file was damaged"))
        }
    }

    @Test("SIGTERM exits 0 within 10 s even when the broker is a black hole that never answers TLS")
    func sigtermWithSilentBroker() async throws {
        try await AgentFixture.with(device: "meter-silent") { fixture in
            // A listener that never accepts: TCP connects (the backlog), TLS never starts.
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(listener >= 0)
            defer { close(listener) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0 && listen(listener, 16) == 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            var configuration = fixture.configuration(sources: [.meter(intervalS: 0.05)])
            configuration.mqtt.port = Int(UInt16(bigEndian: address.sin_port))
            let agent = try fixture.agent(configuration)
            try agent.start()
            try await waitUntil(timeout: .seconds(30), "readings buffering while the broker is silent") {
                (agent.status()?.bufferDepth ?? 0) >= 20
            }
            let stopped = await agent.stop()
            #expect(stopped.exitCode == 0 && !stopped.signalled, "\(agent.log.suffix(4_000))")
            #expect(stopped.elapsed < .seconds(10))
            print("silent broker test: SIGTERM to exit took \(stopped.elapsed)")
            let (stats, _) = try agent.bufferContents()
            #expect(stats.depth >= 20, "what was captured is still on disk")
        }
    }
}
