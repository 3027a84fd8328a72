import Foundation
import Logging
import OutpostMQTT
import OutpostWire
import Synchronization
import TestHarness

/// A stand-in for the agent's publisher: sends telemetry batches over the real broker
/// with its own certificate, listens on its ack topic, and re-sends every batch not
/// fully acked after `resendAfter` — the end-to-end guarantee's device half.
final class TestDevice: Sendable {
    let id: DeviceID
    let buffer: BufferID
    let client: MQTTClient
    let resendAfter: Duration
    private let codec = WireCodec()

    private struct Outstanding {
        var batch: TelemetryBatch
        var sentAt: ContinuousClock.Instant
        /// When the batch was first sent: the start of its capture-to-ack latency.
        var capturedAt: ContinuousClock.Instant
    }

    private struct State {
        var nextSeq: Int64 = 1
        /// Unacked batches by their first seq.
        var outstanding: [Int64: Outstanding] = [:]
        var acked = Set<Int64>()
        var resends = 0
        var firstBatch: TelemetryBatch?
        /// Capture-to-ack latency of every fully acked batch.
        var ackLatencies: [Duration] = []
    }

    private let state = Mutex(State())
    /// Acks received for this device's buffer.
    private let acksReceived = WaitableState(0)
    private let listener = Mutex<Task<Void, Never>?>(nil)
    /// Answers commands; nil from it means "no answer" (the command then expires).
    private let commandHandler: (@Sendable (Command) -> CommandResult?)?
    private let commandsReceived = Mutex<[Command]>([])

    init(_ id: String, fixture: AggregatorFixture, resendAfter: Duration = .seconds(3),
         onCommand: (@Sendable (Command) -> CommandResult?)? = nil, will: MQTTConfiguration.Will? = nil,
         broker: MosquittoServer? = nil) async throws {
        self.id = DeviceID(id)!
        self.commandHandler = onCommand
        self.buffer = BufferID.random()
        self.resendAfter = resendAfter
        let identity = try await fixture.ca.issueClient(id)
        var configuration = (broker ?? fixture.broker).settings(for: identity).clientConfiguration(clientID: id, will: will, sessionExpiry: 600)
        configuration.backoff = ReconnectBackoff(initial: 0.05, maximum: 0.5)
        configuration.keepAlive = 5
        client = try MQTTClient(configuration: configuration, logger: Logger(label: "test.device.\(id)"))
    }

    /// Connects, subscribes to the ack topic and starts counting acks.
    func start() async throws {
        client.start()
        try await client.subscribe(Topic(id, .ack).name)
        if commandHandler != nil { try await client.subscribe(Topic(id, .cmd).name) }
        let events = client.events
        listener.withLock {
            $0 = Task { [weak self] in
                for await event in events {
                    guard case .message(let message) = event, let self else { continue }
                    self.handle(message)
                }
            }
        }
        try await waitUntil(timeout: .seconds(20), "\(id) connected") { client.isConnected }
    }

    func stop() async {
        await client.shutdown()
        listener.withLock { $0 }?.cancel()
    }

    private func handle(_ message: MQTTMessage) {
        if message.topic == Topic(id, .cmd).name {
            guard let command = try? codec.decode(Command.self, from: message.payload, topicDevice: id) else { return }
            commandsReceived.withLock { $0.append(command) }
            if let result = commandHandler?(command), let payload = try? codec.encode(result) {
                try? client.publishDetached(Topic(id, .cmdResult).name, payload: payload)
            }
            return
        }
        guard let ack = try? codec.decode(Ack.self, from: message.payload, topicDevice: id), ack.buffer == buffer else { return }
        state.withLock { state in
            for range in ack.ranges {
                for seq in range.first...range.last { state.acked.insert(seq) }
            }
            let now = ContinuousClock.now
            let acked = state.acked
            for (first, outstanding) in state.outstanding where outstanding.batch.readings.allSatisfy({ acked.contains($0.seq) }) {
                state.ackLatencies.append(now - outstanding.capturedAt)
                state.outstanding[first] = nil
            }
        }
        acksReceived.update { $0 += 1 }
    }

    /// Captures and publishes `count` batches of `readings` readings each.
    func send(batches count: Int, readings: Int, metric: String = "power_w") async throws {
        for _ in 0..<count {
            let batch = capture(readings, metric: metric)
            try? await client.publish(Topic(id, .telemetry).name, payload: try codec.encode(batch))
        }
    }

    /// Captures `count` batches of `readings` readings and hands them all to the client at
    /// once (QoS 1, not waiting for each PUBACK): as fast as this device can publish.
    func flood(batches count: Int, readings: Int) throws {
        for _ in 0..<count {
            try client.publishDetached(Topic(id, .telemetry).name, payload: try codec.encode(capture(readings, metric: "power_w")),
                                       qos: .atLeastOnce)
        }
    }

    private func capture(_ count: Int, metric: String) -> TelemetryBatch {
        state.withLock { state -> TelemetryBatch in
            let now = WireClock.nowMs()
            let readings = (0..<Int64(count)).map {
                Reading(seq: state.nextSeq + $0, ts: now, metric: metric, value: Double(state.nextSeq + $0))
            }
            state.nextSeq += Int64(readings.count)
            let batch = TelemetryBatch(device: id, buffer: buffer, readings: readings)
            state.outstanding[readings[0].seq] = Outstanding(batch: batch, sentAt: .now, capturedAt: .now)
            if state.firstBatch == nil { state.firstBatch = batch }
            return batch
        }
    }

    /// Publishes the first batch again, as an agent does when an ack was lost; returns its size.
    /// A nonzero `shiftingTs` (ms) moves every reading's ts: the same (buffer, seq) with
    /// another ts, as a buggy or hostile device might send.
    func replayFirstBatch(shiftingTs shift: Int64 = 0) async throws -> Int {
        guard var batch = state.withLock({ $0.firstBatch }) else { return 0 }
        for index in batch.readings.indices { batch.readings[index].ts += shift }
        try await client.publish(Topic(id, .telemetry).name, payload: try codec.encode(batch))
        return batch.readings.count
    }

    var acksReceivedCount: Int { acksReceived.value }

    /// Waits until the count of acks received satisfies `condition`, woken by each ack.
    func waitForAcks(timeout: Duration, _ what: String, until condition: @escaping @Sendable (Int) -> Bool) async throws {
        try await acksReceived.wait(timeout: timeout, what, until: condition)
    }

    /// Capture-to-ack latencies of the batches acked so far.
    var ackLatencies: [Duration] { state.withLock { $0.ackLatencies } }

    /// Re-sends every batch unacked for longer than `resendAfter`.
    func resendOverdue() async {
        let now = ContinuousClock.now
        let overdue = state.withLock { state -> [TelemetryBatch] in
            var due: [TelemetryBatch] = []
            for (first, outstanding) in state.outstanding where now - outstanding.sentAt >= resendAfter {
                due.append(outstanding.batch)
                state.outstanding[first]!.sentAt = now
                state.resends += 1
            }
            return due
        }
        for batch in overdue {
            try? await client.publish(Topic(id, .telemetry).name, payload: try! codec.encode(batch))
        }
    }

    var commands: [Command] { commandsReceived.withLock { $0 } }

    /// Readings captured so far.
    var captured: Int { state.withLock { Int($0.nextSeq - 1) } }
    var ackedCount: Int { state.withLock { $0.acked.count } }
    var resends: Int { state.withLock { $0.resends } }
    var allAcked: Bool { state.withLock { $0.outstanding.isEmpty && $0.acked.count == Int($0.nextSeq - 1) } }

    /// Waits until every captured reading is acked, re-sending what is overdue meanwhile.
    func waitAllAcked(timeout: Duration = .seconds(90)) async throws {
        try await waitUntil(timeout: timeout, every: .milliseconds(100), "\(id): all \(captured) readings acked (have \(ackedCount))") {
            if allAcked { return true }
            await resendOverdue()
            return false
        }
    }
}
