import Testing
import OutpostWire
@testable import OutpostAggregator

/// Presence's pending state messages: order, coalescing, batches, and the wake-ups of the recorder. No database.
@Suite("State backlog")
struct StateBacklogTests {
    static let a = DeviceID("dev-a")!
    static let b = DeviceID("dev-b")!
    static let c = DeviceID("dev-c")!

    static func state(_ device: DeviceID, _ status: DeviceState.Status, ts: Int64, version: String? = nil,
                      bufferDepth: Int64? = nil) -> StateObservation {
        StateObservation(state: DeviceState(device: device, status: status, ts: ts, version: version, bufferDepth: bufferDepth),
                         retained: false, receivedAtMs: ts)
    }

    static func summary(_ batch: [StateObservation]) -> [String] {
        batch.map { "\($0.state.device.rawValue):\($0.state.status.rawValue):\($0.state.ts)" }
    }

    @Test("batches keep arrival order, each device's states in order, and split at max")
    func order() {
        var backlog = StateBacklog(limit: 100, deviceLimit: 10)
        let now = ContinuousClock.now
        for (index, device) in [Self.a, Self.b, Self.a, Self.c, Self.a].enumerated() {
            #expect(backlog.add(Self.state(device, index % 2 == 0 ? .online : .offline, ts: Int64(index)), at: now) == .queued)
        }
        #expect(backlog.count == 5)
        #expect(backlog.oldestAt == now)
        #expect(Self.summary(backlog.take(max: 3)) == ["dev-a:online:0", "dev-b:offline:1", "dev-a:online:2"])
        #expect(backlog.count == 2)
        #expect(Self.summary(backlog.take(max: 3)) == ["dev-c:offline:3", "dev-a:online:4"])
        #expect(backlog.isEmpty)
        #expect(backlog.oldestAt == nil)
        #expect(backlog.take(max: 3).isEmpty)
    }

    @Test("past its device limit a device's oldest pending state is dropped; its fields carry to the next, the newest stays")
    func deviceLimit() {
        var backlog = StateBacklog(limit: 100, deviceLimit: 2)
        let now = ContinuousClock.now
        #expect(backlog.add(Self.state(Self.a, .online, ts: 1, version: "1.0", bufferDepth: 5), at: now) == .queued)
        #expect(backlog.add(Self.state(Self.b, .online, ts: 2), at: now) == .queued)
        #expect(backlog.add(Self.state(Self.a, .offline, ts: 3), at: now) == .queued)
        #expect(backlog.add(Self.state(Self.a, .online, ts: 4, bufferDepth: 9), at: now) == .coalesced)
        #expect(backlog.count == 3)
        let batch = backlog.take(max: 10)
        #expect(Self.summary(batch) == ["dev-a:offline:3", "dev-b:online:2", "dev-a:online:4"])
        #expect(batch[0].state.version == "1.0" && batch[0].state.bufferDepth == 5, "carried from the dropped state")
        #expect(batch[2].state.version == nil && batch[2].state.bufferDepth == 9)
    }

    @Test("with the backlog full a device with pending states coalesces, a device with none is still queued")
    func fullBacklog() {
        var backlog = StateBacklog(limit: 2, deviceLimit: 100)
        let now = ContinuousClock.now
        #expect(backlog.add(Self.state(Self.a, .online, ts: 1, version: "1.0"), at: now) == .queued)
        #expect(backlog.add(Self.state(Self.b, .online, ts: 2), at: now) == .queued)
        #expect(backlog.add(Self.state(Self.a, .offline, ts: 3), at: now) == .coalesced)
        #expect(backlog.add(Self.state(Self.c, .offline, ts: 4), at: now) == .queued)
        #expect(backlog.count == 3)
        let batch = backlog.take(max: 10)
        #expect(Self.summary(batch) == ["dev-a:offline:3", "dev-b:online:2", "dev-c:offline:4"])
        #expect(batch[0].state.version == "1.0")
    }

    @Test("a thousand states of one device and one of each of 50 others: bounded, every device's newest kept")
    func flood() {
        var backlog = StateBacklog(limit: 200, deviceLimit: 100)
        let now = ContinuousClock.now
        var coalesced = 0
        for ts in 0..<1_000 where backlog.add(Self.state(Self.a, ts % 2 == 0 ? .online : .offline, ts: Int64(ts)), at: now) == .coalesced {
            coalesced += 1
        }
        let others = (0..<50).map { DeviceID("dev-o\($0)")! }
        for device in others { #expect(backlog.add(Self.state(device, .online, ts: 5_000), at: now) == .queued) }
        #expect(coalesced == 900)
        #expect(backlog.count == 150)
        let batch = backlog.take(max: .max)
        let mine = batch.filter { $0.state.device == Self.a }.map(\.state.ts)
        #expect(mine == Array(900..<1_000).map(Int64.init), "the newest 100, in order")
        #expect(Set(batch.map(\.state.device)).count == 51)
    }

    @Test("the recorder wakes the service for the first state and a full batch, and says when states are due")
    func recorderWakeups() {
        let recorder = PresenceRecorder(maxPendingDevices: 10, maxPendingMessages: 100, stateBatchMax: 3)
        #expect(recorder.statesDue(linger: .milliseconds(5)) == nil)
        let before = ContinuousClock.now
        #expect(recorder.record(Self.state(Self.a, .online, ts: 1)) == .queued)
        let due = recorder.statesDue(linger: .milliseconds(5))
        #expect(due != nil && due! >= before + .milliseconds(5) && due! <= ContinuousClock.now + .milliseconds(5))
        #expect(recorder.record(Self.state(Self.b, .online, ts: 2)) == .queued)
        #expect(recorder.inputs.weight == 1, "one wake-up for the first state")
        #expect(recorder.record(Self.state(Self.c, .online, ts: 3)) == .queued)
        #expect(recorder.inputs.weight == 2, "another for the full batch")
        #expect(recorder.statesDue(linger: .seconds(60))! <= ContinuousClock.now, "a full batch is due at once")
        #expect(Self.summary(recorder.takeStates()) == ["dev-a:online:1", "dev-b:online:2", "dev-c:online:3"])
        #expect(recorder.statesDue(linger: .milliseconds(5)) == nil)
        recorder.inputs.finish()
        #expect(recorder.record(Self.state(Self.a, .offline, ts: 4)) == .queued, "never waits, even finished")
        #expect(Self.summary(recorder.takeAllStates()) == ["dev-a:offline:4"])
    }
}
