import Foundation
import Logging
import OutpostMQTT
import OutpostWire
import Synchronization
import TestHarness

/// A test stand-in for the aggregator: it "stores" every reading it receives (in memory,
/// once per (buffer, seq)), acks each batch the way the real one does after its commit,
/// and records states, command results and events. Acking can be switched off.
final class AckingAggregator: Sendable {
    struct Record {
        var stored: [BufferID: Set<Int64>] = [:]
        var duplicates = 0
        var batches = 0
        var byMetric: [String: Int] = [:]
        var states: [DeviceState] = []
        var results: [String: CommandResult] = [:]
        var events: [DeviceEvent] = []
        /// The lowest new seq of each batch that carried anything new, in arrival order.
        var firstNewSeqs: [Int64] = []

        /// Distinct readings stored for any buffer.
        var storedCount: Int { stored.values.reduce(0) { $0 + $1.count } }
    }

    static let identity = "svc.aggregator.test"

    let client: MQTTClient
    private let record = WaitableState(Record())
    private let acking = Atomic<Bool>(true)
    private let codec = WireCodec()
    private let consumer: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(broker: MosquittoServer, ca: TestCertificateAuthority) async throws {
        let identity = try await ca.issueClient(Self.identity)
        var configuration = broker.settings(for: identity).clientConfiguration(clientID: "svc-aggregator-test", sessionExpiry: 3600)
        configuration.backoff = ReconnectBackoff(initial: 0.05, maximum: 0.5)
        configuration.keepAlive = 5
        client = try MQTTClient(configuration: configuration, logger: Logger(label: "test.aggregator"))
        let task = Task { [self] in await self.consume() }
        consumer.withLock { $0 = task }
        client.start()
        try await waitUntil(timeout: .seconds(20), "aggregator stand-in connected") { client.isConnected }
        for kind in [Topic.Kind.telemetry, .state, .cmdResult, .events] {
            try await client.subscribe(Topic.allDevices(kind))
        }
    }

    func setAcking(_ on: Bool) { acking.store(on, ordering: .sequentiallyConsistent) }

    func shutdown() async {
        await client.shutdown()
        // The stream ends after shutdown; draining it returns every credit the client took.
        await consumer.withLock { $0 }?.value
    }

    var snapshot: Record { record.value }

    /// Distinct readings stored for any buffer.
    var storedCount: Int { snapshot.storedCount }

    /// Waits until the record satisfies `condition`, woken by each message that changes it
    /// rather than by polling; throws after `timeout`.
    func wait(timeout: Duration, _ what: String, until condition: @escaping @Sendable (Record) -> Bool) async throws {
        try await record.wait(timeout: timeout, what, until: condition)
    }

    func send(_ command: Command, to device: DeviceID) throws {
        try client.publishDetached(Topic(device, .cmd).name, payload: try codec.encode(command))
    }

    func sendRaw(_ payload: String, to device: DeviceID) throws {
        try client.publishDetached(Topic(device, .cmd).name, payload: Array(payload.utf8))
    }

    /// Sends a command and waits for its result.
    func run(_ command: Command, on device: DeviceID, timeout: Duration = .seconds(20)) async throws -> CommandResult {
        try send(command, to: device)
        try await wait(timeout: timeout, "result of \(command.name) \(command.id)") { $0.results[command.id] != nil }
        return snapshot.results[command.id]!
    }

    private func consume() async {
        for await event in client.events {
            guard case .message(let message) = event, let topic = try? Topic(parsing: message.topic) else { continue }
            switch topic.kind {
            case .telemetry:
                guard let batch = try? codec.decode(TelemetryBatch.self, from: message.payload, topicDevice: topic.device) else { continue }
                record.update { record in
                    record.batches += 1
                    var firstNew: Int64?
                    for reading in batch.readings {
                        if record.stored[batch.buffer, default: []].insert(reading.seq).inserted {
                            record.byMetric[reading.metric, default: 0] += 1
                            firstNew = min(firstNew ?? reading.seq, reading.seq)
                        } else {
                            record.duplicates += 1
                        }
                    }
                    if let firstNew { record.firstNewSeqs.append(firstNew) }
                }
                if acking.load(ordering: .sequentiallyConsistent) {
                    let ack = Ack(device: topic.device, buffer: batch.buffer, ranges: SeqRange.ranges(covering: batch.readings.map(\.seq)))
                    try? client.publishDetached(Topic(topic.device, .ack).name, payload: try codec.encode(ack))
                }
            case .state:
                if let state = try? codec.decode(DeviceState.self, from: message.payload, topicDevice: topic.device) {
                    record.update { $0.states.append(state) }
                }
            case .cmdResult:
                if let result = try? codec.decode(CommandResult.self, from: message.payload) {
                    record.update { $0.results[result.id] = result }
                }
            case .events:
                if let event = try? codec.decode(DeviceEvent.self, from: message.payload, topicDevice: topic.device) {
                    record.update { $0.events.append(event) }
                }
            case .ack, .cmd:
                break
            }
        }
    }
}
