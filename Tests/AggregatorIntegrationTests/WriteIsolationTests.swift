import Foundation
import Logging
import OutpostWire
import Synchronization
import Testing
import TestHarness
@testable import OutpostAggregator

/// The policy half of write isolation, without a database.
@Suite("Write isolation policy")
struct WriteIsolationPolicyTests {
    @Test("SQLSTATE classes 22, 23 and 54 are data; connection, rollback, resources, shutdown and unknown are transient",
          arguments: [
            ("22P05", true), ("22021", true), ("22003", true), ("23505", true), ("23514", true), ("54000", true),
            ("08006", false), ("40001", false), ("40P01", false), ("53300", false), ("57P01", false), ("42P01", false),
            ("XX000", false), ("22", false), ("", false),
          ])
    func classification(_ sqlstate: String, _ isData: Bool) {
        let expected: WriteFailure = isData ? .data(sqlstate: sqlstate) : .transient
        #expect(WriteFailure.classify(sqlstate: sqlstate) == expected)
    }

    @Test("an error without a SQLSTATE (a lost connection) is transient")
    func noSQLState() {
        #expect(WriteFailure.classify(sqlstate: nil) == .transient)
        #expect(WriteFailure.classify(CancellationError()) == .transient)
    }

    struct FakeFailure: Error {
        var sqlstate: String?
    }

    static let classifyFake: @Sendable (any Error) -> WriteFailure = { error in
        WriteFailure.classify(sqlstate: (error as? FakeFailure)?.sqlstate)
    }

    @Test("splitting isolates every offender, writes every other item exactly once, in order, in few round trips")
    func isolatesOffenders() async {
        let items = Array(1...100)
        let poison: Set<Int> = [7, 8, 64]
        let calls = Mutex(0)
        let outcome = await BatchIsolation<Int, [Int]>(classify: Self.classifyFake).write(items) { chunk in
            calls.withLock { $0 += 1 }
            if let bad = chunk.first(where: poison.contains) { throw FakeFailure(sqlstate: bad == 64 ? "23514" : "22P05") }
            return chunk
        }
        #expect(outcome.outputs.flatMap { $0 } == items.filter { !poison.contains($0) })
        #expect(outcome.offenders.map { $0.item } == [7, 8, 64])
        #expect(outcome.offenders.map { $0.sqlstate } == ["22P05", "22P05", "23514"])
        #expect(outcome.remaining.isEmpty && outcome.transientError == nil)
        // Bounded by about 2·k·log2(n): here 3 offenders among 100 items.
        #expect(calls.withLock { $0 } <= 2 * 3 * 7 + 1)
    }

    @Test("a clean batch is one write")
    func cleanBatch() async {
        let calls = Mutex(0)
        let outcome = await BatchIsolation<Int, Int>(classify: Self.classifyFake).write([1, 2, 3]) { chunk in
            calls.withLock { $0 += 1 }
            return chunk.count
        }
        #expect(outcome.outputs == [3])
        #expect(calls.withLock { $0 } == 1)
    }

    @Test("a transient failure stops the run and hands back exactly what was not written, in order")
    func transientStops() async {
        let items = Array(1...16)
        let written = Mutex<[Int]>([])
        let outcome = await BatchIsolation<Int, Void>(classify: Self.classifyFake).write(items) { chunk in
            if chunk.contains(3) && chunk.count == 16 { throw FakeFailure(sqlstate: "22P05") }
            if chunk.contains(12) { throw FakeFailure(sqlstate: "08006") }
            written.withLock { $0 += chunk }
        }
        #expect(written.withLock { $0 } == Array(1...8))
        #expect(outcome.remaining == Array(9...16))
        #expect(outcome.transientError != nil)
        #expect(outcome.offenders.isEmpty)
    }

    @Test("a dead letter's excerpt is bounded, cut on a character, and storable")
    func excerpt() {
        let long = String(repeating: "é", count: 2_000) + "\u{0}"
        let cut = DeadLetter.excerpt(long)
        #expect(cut.utf8.count <= DeadLetter.maxExcerptBytes)
        #expect(cut.utf8.count == 1_024)
        #expect(!DeadLetter.excerpt("a\u{0}b").contains("\u{0}"))
        let letter = DeadLetter(device: DeviceID("m-1")!, kind: .cmdResult, sqlstate: "22021",
                                message: CommandResult.failure(id: "c-1", code: "failed", message: "x"))
        #expect(letter.topic == "outpost/v1/m-1/cmd/result")
        #expect(letter.code == "database_refused")
        #expect(letter.excerpt.contains(#""id":"c-1""#))
    }
}

/// Write isolation against a real PostgreSQL: messages whose data PostgreSQL refuses are
/// built here directly (the wire codec refuses them at decode, so no device can send them),
/// which is what a decoder gap would let through.
@Suite("Write isolation", .serialized, .timeLimit(.minutes(3)))
struct WriteIsolationTests {
    /// Acks the pipeline publishes, for the test to read.
    final class RecordingAcks: AckPublisher, Sendable {
        let acks = Mutex<[Ack]>([])
        func publish(_ ack: Ack) throws { acks.withLock { $0.append(ack) } }
    }

    @Test("a reading PostgreSQL refuses is dead-lettered and acked; the rest of its batch is stored and acked")
    func readings() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["iso-r1", "iso-r2"])
            let metrics = AggregatorMetrics()
            let acks = RecordingAcks()
            let pipeline = IngestPipeline(
                settings: IngestSettings(batchMaxRows: 5_000, batchMaxDelayMs: 200, writers: 1),
                store: ReadingsStore(primary: aggregator.database.client, logger: Logger(label: "test")), acks: acks,
                metrics: metrics, logger: Logger(label: "test"))
            let running = Task { await pipeline.run() }
            let now = WireClock.nowMs()
            func batch(_ device: String, _ metric: String, seq: Int64) -> ReceivedBatch {
                ReceivedBatch(batch: TelemetryBatch(device: DeviceID(device)!, buffer: BufferID(UInt64(seq)), readings: (0..<10).map {
                    Reading(seq: seq + $0, ts: now, metric: metric, value: 1)
                }), receivedAt: .now)
            }
            await pipeline.submit(batch("iso-r1", "power_w", seq: 1))
            await pipeline.submit(batch("iso-r2", "bad\u{0}metric", seq: 100))
            await pipeline.submit(batch("iso-r2", "power_w", seq: 200))
            await pipeline.submit(batch("iso-r1", "power_w", seq: 300))
            pipeline.finish()
            await running.value
            #expect(try await fixture.count("SELECT count(*) FROM readings") == 30)
            #expect(try await fixture.count("SELECT count(*) FROM readings WHERE device = 'iso-r2' AND seq >= 200") == 10)
            #expect(try await fixture.psql("SELECT device || ' ' || topic || ' ' || code || ' ' || sqlstate FROM rejected_messages")
                    == "iso-r2 outpost/v1/iso-r2/telemetry database_refused 22021")
            #expect(acks.acks.withLock { $0 }.count == 4, "every message acked, the dead-lettered one too")
            // 40 readings against a 20,000-reading queue: each ack says the centre is all but idle.
            #expect(acks.acks.withLock { $0 }.map(\.pressure).allSatisfy { $0 != nil && $0! <= 0.01 })
            let text = metrics.render()
            #expect(metricValue(text, "outpost_ingest_pressure").map { (0...0.01).contains($0) } == true)
            #expect(metricValue(text, "outpost_ingest_dead_lettered_total", ["kind": "telemetry", "sqlstate": "22021"]) == 1)
            #expect(metricValue(text, "outpost_ingest_rejected_total", ["kind": "telemetry", "reason": "database_refused"]) == 1)
            #expect(metricValue(text, "outpost_ingest_readings_stored_total") == 30)
            #expect(metrics.failingWritePaths.isEmpty)
        }
    }

    @Test("an event or state PostgreSQL refuses is dead-lettered; every other event and state is stored")
    func presence() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["iso-p1", "iso-p2"])
            let metrics = AggregatorMetrics()
            let recorder = PresenceRecorder(maxPendingDevices: 100)
            let service = fixture.presenceService(aggregator, recorder: recorder, metrics: metrics, flushIntervalMs: 100)
            let running = Task { try await service.run() }
            let p1 = DeviceID("iso-p1")!, p2 = DeviceID("iso-p2")!
            let now = WireClock.nowMs()
            for index in 0..<5 {
                await recorder.record(DeviceEvent(device: p1, ts: now, kind: "warning", data: ["n": .number(Double(index))]))
            }
            await recorder.record(DeviceEvent(device: p2, ts: now, kind: "warning", data: ["m": "a\u{0}b"]))
            for index in 0..<5 {
                await recorder.record(DeviceEvent(device: p2, ts: now, kind: "warning", data: ["n": .number(Double(index))]))
            }
            recorder.record(StateObservation(
                state: DeviceState(device: p1, status: .online, ts: now, version: "1.0\u{0}x"), retained: false, receivedAtMs: now))
            recorder.record(StateObservation(
                state: DeviceState(device: p2, status: .online, ts: now, version: "2.0"), retained: false, receivedAtMs: now))
            try await waitUntil(timeout: .seconds(30), "good events and state stored") {
                let events = try await fixture.count("SELECT count(*) FROM device_events")
                let version = try await fixture.psql("SELECT coalesce(version, '') FROM devices WHERE id = 'iso-p2'")
                return events == 10 && version == "2.0"
            }
            try await waitUntil(timeout: .seconds(10), "both dead-lettered") {
                try await fixture.count("SELECT count(*) FROM rejected_messages") == 2
            }
            #expect(try await fixture.psql("SELECT string_agg(topic || ' ' || sqlstate, ',' ORDER BY topic) FROM rejected_messages")
                    == "outpost/v1/iso-p1/state 22021,outpost/v1/iso-p2/events 22P05")
            #expect(try await fixture.psql("SELECT coalesce(version, '-') FROM devices WHERE id = 'iso-p1'") == "-")
            let text = metrics.render()
            #expect(metricValue(text, "outpost_ingest_dead_lettered_total", ["kind": "events", "sqlstate": "22P05"]) == 1)
            #expect(metricValue(text, "outpost_ingest_dead_lettered_total", ["kind": "state", "sqlstate": "22021"]) == 1)
            #expect(metricValue(text, "outpost_devices_flush_failures_total") == 0)
            #expect(metrics.failingWritePaths.isEmpty)
            let listed = try await RejectedMessagesStore(client: aggregator.database.client, metrics: nil, logger: Logger(label: "test"))
                .list(limit: 10, before: nil, device: "iso-p2")
            #expect(listed.map(\.topic) == ["outpost/v1/iso-p2/events"])
            #expect(listed.first?.excerpt.contains(#""kind":"warning""#) == true)
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test("a command result PostgreSQL refuses is a data failure, not a retry")
    func commandResult() async throws {
        try await AggregatorFixture.withFixture { fixture in
            let aggregator = try await fixture.startInProcess(try await fixture.configuration())
            try await fixture.addDevices(["iso-c1"])
            let device = DeviceID("iso-c1")!
            let command = try await aggregator.commands.enqueue(device: device, name: "noop", ttlSeconds: 60, actor: "test")
            let bad = CommandResult.failure(id: command.id, code: "failed", message: "x\u{0}y")
            let error = await #expect(throws: (any Error).self) { try await aggregator.commands.complete(bad, from: device) }
            #expect(error.map { WriteFailure.classify($0) } == .data(sqlstate: "22021"))
        }
    }
}

/// How much of the ingest queue one device may hold, without a broker.
@Suite("Ingest device share")
struct DeviceShareTests {
    @Test("a device may hold up to its limit; the message that would take it past is shed")
    func limit() {
        let share = DeviceShare(queueLimit: 20_000, deviceLimit: 5_000)
        #expect(share.deviceLimit == 5_000)
        #expect(!share.sheds(500, held: 0))
        #expect(!share.sheds(500, held: 4_500), "exactly at the limit")
        #expect(share.sheds(501, held: 4_500))
        #expect(share.sheds(1, held: 5_000))
        #expect(!share.shedsUndecoded(held: 4_999))
        #expect(share.shedsUndecoded(held: 5_000))
    }

    @Test("an honest agent's whole in-flight window (8 batches of 500) fits the default share")
    func honestWindow() {
        let share = DeviceShare(queueLimit: IngestSettings().queueMaxRows, deviceLimit: IngestSettings().deviceQueueMaxRows)
        var held = 0
        for _ in 0..<8 {
            #expect(!share.sheds(500, held: held))
            held += 500
        }
    }

    @Test("one device holds at most half the queue, so it can never fill it")
    func halfTheQueue() {
        #expect(DeviceShare(queueLimit: 1_000, deviceLimit: 5_000).deviceLimit == 500)
        #expect(DeviceShare(queueLimit: 1, deviceLimit: 5_000).deviceLimit == 1)
    }

    @Test("a message larger than the share is admitted when its device holds nothing")
    func oversized() {
        let share = DeviceShare(queueLimit: 1_000, deviceLimit: 100)
        #expect(!share.sheds(400, held: 0))
        #expect(share.sheds(1, held: 400))
        #expect(share.shedsUndecoded(held: 400))
    }
}

@Suite("Router decode share")
struct DecodeShareTests {
    let flooder = DeviceID("flood")!, quiet = DeviceID("quiet")!

    @Test("an idle router admits everything; a saturated one caps each device at twice an equal share of the last second")
    func allowance() {
        var share = DecodeShare()
        let start = ContinuousClock.now
        // Window 1, not saturated: the flooder gets everything through.
        var admittedFirst = 0
        for index in 0..<90 where share.admit(flooder, at: start + .milliseconds(index)) { admittedFirst += 1 }
        for index in 0..<10 where share.admit(quiet, at: start + .milliseconds(100 + index)) { admittedFirst += 1 }
        #expect(admittedFirst == 100)
        share.busy(.milliseconds(300), at: start + .milliseconds(200))
        // Window 2: busy almost all the time.
        let second = share.admit(flooder, at: start + .milliseconds(1_000))
        #expect(second)
        #expect(share.allowance == nil, "window 1 was not saturated")
        share.busy(.milliseconds(950), at: start + .milliseconds(1_100))
        for _ in 0..<89 { _ = share.admit(flooder, at: start + .milliseconds(1_500)) }
        for _ in 0..<10 { _ = share.admit(quiet, at: start + .milliseconds(1_500)) }
        // Window 3: 100 messages from 2 devices in a saturated window allow twice the average, 100 each.
        var admitted = 0
        for index in 0..<200 where share.admit(flooder, at: start + .milliseconds(2_000 + index)) { admitted += 1 }
        #expect(share.allowance == 100)
        #expect(admitted == 100)
        #expect(share.closedWindows == 2 && share.busyShare == 0.95, "window 2: 950 ms busy of 1 s")
        let quietAdmitted = share.admit(quiet, at: start + .milliseconds(2_300))
        #expect(quietAdmitted, "the quiet device is still admitted")
    }

    @Test("only telemetry topics are subject to it")
    func topics() {
        #expect(DecodeShare.telemetryDevice("outpost/v1/m-1/telemetry") == DeviceID("m-1"))
        #expect(DecodeShare.telemetryDevice("outpost/v1/m-1/events") == nil)
        #expect(DecodeShare.telemetryDevice("bogus") == nil)
    }
}
