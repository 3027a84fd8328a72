import Foundation
import Testing
import OutpostSupport
import OutpostWire
@testable import OutpostAggregator

/// The ingest pipeline's pure parts: no network, no disk.
@Suite("Ingest logic")
struct IngestUnitTests {
    static let device = DeviceID("dev-a")!
    static let other = DeviceID("dev-b")!

    static func message(_ device: DeviceID = device, buffer: BufferID = BufferID(7), seqs: [Int64]) -> ReceivedBatch {
        let readings = seqs.map { Reading(seq: $0, ts: 1_763_800_000_000, metric: "power_w", value: Double($0)) }
        return ReceivedBatch(batch: TelemetryBatch(device: device, buffer: buffer, readings: readings), receivedAt: .now)
    }

    @Test("a batch closes before the message that would take it past max rows")
    func assemblerRows() {
        var assembler = BatchAssembler(maxRows: 10, maxDelay: .seconds(60))
        let now = ContinuousClock.now
        #expect(assembler.add(Self.message(seqs: Array(1...4)), now: now).isEmpty)
        #expect(assembler.add(Self.message(seqs: Array(5...8)), now: now).isEmpty)
        let closed = assembler.add(Self.message(seqs: Array(9...12)), now: now)
        #expect(closed.map(\.rows) == [8])
        // A message of exactly max rows closes itself at once.
        let full = assembler.add(Self.message(seqs: Array(13...22)), now: now)
        #expect(full.map(\.rows) == [4, 10])
        #expect(assembler.closeDeadline == nil)
    }

    @Test("a batch closes at its deadline, counted from its first message")
    func assemblerTime() {
        var assembler = BatchAssembler(maxRows: 1_000, maxDelay: .milliseconds(50))
        let start = ContinuousClock.now
        #expect(assembler.add(Self.message(seqs: [1]), now: start).isEmpty)
        #expect(assembler.add(Self.message(seqs: [2]), now: start + .milliseconds(40)).isEmpty)
        #expect(assembler.closeDeadline == start + .milliseconds(50))
        #expect(assembler.close(now: start + .milliseconds(49)) == nil)
        #expect(assembler.close(now: start + .milliseconds(50))?.rows == 2)
        #expect(assembler.close(now: start + .seconds(1), force: true) == nil)
    }

    @Test("acks coalesce seqs per device and buffer, in any order, and split at the range cap")
    func ackPlanning() {
        let buffer2 = BufferID(9)
        let acks = AckPlanner.acks(for: [
            Self.message(seqs: [5, 3, 4]), Self.message(Self.other, seqs: [1]), Self.message(seqs: [1, 2, 9]),
            Self.message(buffer: buffer2, seqs: [1]),
        ])
        #expect(acks == [
            Ack(device: Self.device, buffer: BufferID(7), ranges: [SeqRange(1, 5), SeqRange(9, 9)]),
            Ack(device: Self.device, buffer: buffer2, ranges: [SeqRange(1, 1)]),
            Ack(device: Self.other, buffer: BufferID(7), ranges: [SeqRange(1, 1)]),
        ])
        let split = AckPlanner.acks(for: [Self.message(seqs: [1, 3, 5, 7, 9])], pressure: 0.42, maxRanges: 2)
        #expect(split.map(\.ranges.count) == [2, 2, 1])
        #expect(split.flatMap(\.ranges).map(\.first) == [1, 3, 5, 7, 9])
        #expect(split.map(\.pressure) == [0.42, 0.42, 0.42], "every ack of the commit carries the pressure")
        #expect(acks.allSatisfy { $0.pressure == nil })
    }

    @Test("pressure: the ingest queue's fill rounded up to hundredths, capped at 1, and 1 while writes are retried")
    func ingestPressure() throws {
        let load = IngestPressure(queueLimit: 20_000)
        #expect(load.pressure(queuedRows: 0, writeFailing: false) == 0)
        #expect(load.pressure(queuedRows: 1, writeFailing: false) == 0.01, "a queue holding anything is not idle")
        #expect(load.pressure(queuedRows: 7_400, writeFailing: false) == 0.37)
        #expect(load.pressure(queuedRows: 7_401, writeFailing: false) == 0.38)
        #expect(load.pressure(queuedRows: 10_000, writeFailing: false) == 0.5)
        #expect(load.pressure(queuedRows: 20_000, writeFailing: false) == 1)
        #expect(load.pressure(queuedRows: 45_000, writeFailing: false) == 1, "one message heavier than the queue")
        #expect(load.pressure(queuedRows: 0, writeFailing: true) == 1, "nothing commits while writes fail")
        #expect(IngestPressure(queueLimit: 3).pressure(queuedRows: 1, writeFailing: false) == 0.34)
        // The router's term: 0 up to 80% busy, 1 when always busy; the larger fill wins.
        #expect(load.pressure(queuedRows: 0, writeFailing: false, routerBusy: 0.8) == 0)
        #expect(load.pressure(queuedRows: 0, writeFailing: false, routerBusy: 0.9) == 0.5)
        #expect(load.pressure(queuedRows: 0, writeFailing: false, routerBusy: 1) == 1)
        #expect(load.pressure(queuedRows: 0, writeFailing: false, routerBusy: 1.7) == 1)
        #expect(load.pressure(queuedRows: 7_400, writeFailing: false, routerBusy: 0.85) == 0.37)
        #expect(load.pressure(queuedRows: 2_000, writeFailing: false, routerBusy: 0.95) == 0.75)
        // What the wire carries: short, and inside the range the agent's decoder accepts.
        let codec = WireCodec()
        for rows in stride(from: 0, through: 20_000, by: 37) {
            let pressure = load.pressure(queuedRows: rows, writeFailing: false)
            let ack = Ack(device: Self.device, buffer: BufferID(7), ranges: [SeqRange(1, 1)], pressure: pressure)
            let bytes = try codec.encode(ack)
            #expect(try codec.decode(Ack.self, from: bytes, topicDevice: Self.device).pressure == pressure)
            #expect(bytes.count <= 16 + (try codec.encode(Ack(device: Self.device, buffer: BufferID(7), ranges: [SeqRange(1, 1)]))).count)
        }
    }

    @Test("ack ranges built per message equal the ranges of all seqs, with overlaps, repeats and disorder")
    func ackPlanningMatchesSeqRanges() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let messages = (0..<Int.random(in: 1...6, using: &random)).map { _ in
                let start = Int64.random(in: 1...40, using: &random)
                var seqs = Array(start...(start + Int64.random(in: 0...12, using: &random)))
                if Bool.random(using: &random) { seqs.shuffle(using: &random) }
                if Bool.random(using: &random) { seqs.append(Int64.random(in: 1...60, using: &random)) }
                return Self.message(seqs: seqs)
            }
            let expected = SeqRange.ranges(covering: messages.flatMap { $0.batch.readings.map(\.seq) })
            #expect(AckPlanner.acks(for: messages, maxRanges: 1_000).flatMap(\.ranges) == expected)
        }
    }

    @Test("batch columns carry one element per reading, the buffer id as its signed bit pattern")
    func columns() {
        let big = BufferID(UInt64.max)
        let batch = IngestBatch([Self.message(buffer: big, seqs: [1, 2]), Self.message(Self.other, seqs: [3])])
        let plan = batch.writePlan
        #expect(plan.columns.devices == ["dev-a", "dev-a", "dev-b"])
        #expect(plan.columns.buffers == [-1, -1, 7])
        #expect(plan.columns.seqs == [1, 2, 3])
        #expect(plan.marks == IngestBatch.Marks(devices: ["dev-a", "dev-b"], buffers: [-1, 7], lows: [1, 3], highs: [2, 3]))
        #expect(plan.conflictingRepeats.isEmpty)
        #expect(batch.devices == [Self.device, Self.other])
        #expect(batch.rows == 3)
    }

    @Test("a (buffer, seq) repeated by a later message of the batch is written once, the first occurrence; other ts or value counts as conflicting")
    func repeatsInsideOneBatch() {
        let first = Self.message(seqs: [1, 2, 3])
        var repeated = Self.message(seqs: [5, 3, 2, 4])
        repeated.batch.readings[1].ts += 86_400_000  // seq 3: another ts
        repeated.batch.readings[2].value = -1        // seq 2: another value
        let exact = Self.message(seqs: [4, 6])      // seq 4 again, identical
        let otherBuffer = Self.message(buffer: BufferID(8), seqs: [1, 2])
        let plan = IngestBatch([first, repeated, exact, otherBuffer]).writePlan
        #expect(plan.columns.seqs == [1, 2, 3, 5, 4, 6, 1, 2])
        #expect(plan.columns.buffers == [7, 7, 7, 7, 7, 7, 8, 8])
        // The first occurrences' ts and values are the ones written.
        #expect(plan.columns.values == [1, 2, 3, 5, 4, 6, 1, 2])
        #expect(Set(plan.columns.timestamps) == [1_763_800_000_000])
        #expect(plan.conflictingRepeats == [Self.device: 2])
        #expect(plan.marks == IngestBatch.Marks(devices: ["dev-a", "dev-a"], buffers: [7, 8], lows: [1, 1], highs: [6, 2]))
        // Messages whose seq spans do not overlap are written whole, in order.
        let inOrder = IngestBatch([Self.message(seqs: [3, 4]), Self.message(seqs: [1, 2]), Self.message(seqs: [5])]).writePlan
        #expect(inOrder.columns.seqs == [3, 4, 1, 2, 5])
        #expect(inOrder.marks.lows == [1] && inOrder.marks.highs == [5])
        // Acks still name every seq of every message, repeats included.
        let acks = AckPlanner.acks(for: [first, repeated, exact])
        #expect(acks.map(\.ranges) == [[SeqRange(1, 6)]])
    }

    @Test("transition times: receipt for live messages, the message's ts for a replayed online, last seen for a replayed offline")
    func presencePolicy() {
        #expect(PresencePolicy.transitionTime(status: .offline, retained: false, messageTsMs: 100, receivedAtMs: 900) == 900)
        #expect(PresencePolicy.transitionTime(status: .online, retained: false, messageTsMs: 100, receivedAtMs: 900) == 900)
        #expect(PresencePolicy.transitionTime(status: .online, retained: true, messageTsMs: 100, receivedAtMs: 900) == 100)
        #expect(PresencePolicy.transitionTime(status: .online, retained: true, messageTsMs: 5_000, receivedAtMs: 900) == 900)
        #expect(PresencePolicy.transitionTime(status: .offline, retained: true, messageTsMs: 100, receivedAtMs: 900) == nil)
    }

    @Test("partitions: behind and ahead of today, never past retention; the horizon is today minus retention")
    func partitionPlan() {
        let today = Date(timeIntervalSince1970: 1_763_800_000)  // 2025-11-22T08:26:40Z
        let plan = PartitionPlan(today: today, settings: ReadingsSettings(retentionDays: 2, partitionsAheadDays: 2, partitionsBehindDays: 5))
        #expect(plan.days == ["2025-11-20", "2025-11-21", "2025-11-22", "2025-11-23", "2025-11-24"])
        #expect(plan.retentionHorizon == "2025-11-20")
        let keepAll = PartitionPlan(today: today, settings: ReadingsSettings(retentionDays: 0, partitionsAheadDays: 2, partitionsBehindDays: 0))
        #expect(keepAll.days == ["2025-11-22", "2025-11-23", "2025-11-24"])
        #expect(keepAll.retentionHorizon == nil)
        #expect(PartitionPlan.format(0) == "1970-01-01")
        #expect(PartitionPlan.format(11_016) == "2000-02-29")
    }

    @Test("a command result maps to succeeded, failed, or expired when the agent refused it as expired")
    func commandStatusAfterResult() {
        #expect(CommandRecord.status(after: .success(id: "c1")) == .succeeded)
        #expect(CommandRecord.status(after: .failure(id: "c1", code: "failed", message: "no")) == .failed)
        #expect(CommandRecord.status(after: .failure(id: "c1", code: CommandResult.Failure.expired, message: "late")) == .expired)
        let id = CommandRecord.newID()
        #expect(Command.isValidID(id) && id.count == 26)
    }

    @Test("the aggregator's config sections default when absent and name the key when wrong")
    func configurationDefaults() throws {
        let base: JSONValue = [
            "instance_id": "a1",
            "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"],
            "http": ["cert_file": "/h.pem", "key_file": "/h.key"],
        ]
        let configuration = try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: base)
        #expect(configuration.ingest == IngestSettings())
        #expect(configuration.devices.offlineAfterSeconds == 300)
        #expect(configuration.readings.retentionDays == 90)
        #expect(configuration.commands.defaultTtlSeconds == 300)
        #expect(configuration.mqttClientID == "svc.aggregator.a1")
        var bad = base
        if case .object(var members) = bad {
            members["ingest"] = ["writers": 0]
            bad = .object(members)
        }
        #expect(throws: ConfigError(.invalidValue, key: "ingest.writers", "")) {
            try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: bad)
        }
        if case .object(var members) = bad {
            members["ingest"] = ["batch_rows": 5]
            bad = .object(members)
        }
        #expect(throws: ConfigError(.unknownKey, key: "ingest.batch_rows", "")) {
            try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: bad)
        }
    }

    @Test("the sample configuration in packaging/ loads")
    func sampleConfiguration() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ConfigLoader(environment: [:]).load(
            AggregatorConfiguration.self, path: root.appendingPathComponent("packaging/aggregator.sample.json").path)
        #expect(configuration.instanceID == "a1")
    }
}

@Suite("Bounded queue")
struct BoundedQueueTests {
    @Test("a producer waits while the weight limit is reached and resumes when the consumer takes")
    func backPressure() async {
        let queue = BoundedQueue<Int>(limit: 10)
        #expect(await queue.push(1, weight: 6))
        #expect(await queue.push(2, weight: 4))
        let third = Task { await queue.push(3, weight: 5) }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(queue.weight == 10)
        #expect(queue.tryPop() == 1)
        #expect(await third.value)
        #expect(queue.weight == 9)
        #expect(queue.tryPop() == 2)
        #expect(queue.tryPop() == 3)
        #expect(queue.tryPop() == nil)
    }

    @Test("tryPush adds what fits at once, refuses when full or finished, and hands an element to a waiting consumer")
    func tryPush() async {
        let queue = BoundedQueue<Int>(limit: 2)
        #expect(queue.tryPush(1, weight: 2))
        #expect(!queue.tryPush(2, weight: 1))
        #expect(queue.tryPop() == 1)
        let waiting = Task { await queue.pop() }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(queue.tryPush(3, weight: 1))
        #expect(await waiting.value == 3)
        #expect(queue.weight == 0)
        queue.finish()
        #expect(!queue.tryPush(4, weight: 1))
    }

    @Test("an element heavier than the limit passes when the queue is empty")
    func oversizedElement() async {
        let queue = BoundedQueue<Int>(limit: 2)
        #expect(await queue.push(1, weight: 50))
        #expect(queue.tryPop() == 1)
    }

    @Test("pop returns nil at its deadline, an element as soon as one arrives, and nil after finish once drained")
    func popDeadlineAndFinish() async {
        let queue = BoundedQueue<Int>(limit: 10)
        let start = ContinuousClock.now
        #expect(await queue.pop(until: start + .milliseconds(30)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(30))
        let waiting = Task { await queue.pop() }
        await queue.push(42, weight: 1)
        #expect(await waiting.value == 42)
        await queue.push(43, weight: 1)
        queue.finish()
        #expect(await queue.push(44, weight: 1) == false)
        #expect(await queue.pop() == 43)
        #expect(await queue.pop() == nil)
    }

    @Test("cancellation resumes a waiting consumer and a waiting producer")
    func cancellation() async {
        let queue = BoundedQueue<Int>(limit: 1)
        let consumer = Task { await queue.pop() }
        try? await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value == nil)
        await queue.push(1, weight: 1)
        let producer = Task { await queue.push(2, weight: 1) }
        try? await Task.sleep(for: .milliseconds(20))
        producer.cancel()
        #expect(await producer.value == false)
    }
}
