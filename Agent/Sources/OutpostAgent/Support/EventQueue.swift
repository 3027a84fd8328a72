import OutpostSupport
import OutpostWire
import Synchronization

/// Device events waiting for the publisher, capped: beyond `capacity` the oldest go and
/// are counted. Events are reports, not readings; they are not kept across restarts.
public final class EventQueue: Sendable {
    private struct State {
        var events: [DeviceEvent] = []
        var dropped: Int64 = 0
    }

    public let device: DeviceID
    public let capacity: Int
    private let state = Mutex(State())
    let wakeup = Wakeup()

    public init(device: DeviceID, capacity: Int = 100) {
        self.device = device
        self.capacity = capacity
    }

    public func post(_ kind: String, _ data: JSONValue) {
        let event = DeviceEvent(device: device, ts: WireClock.nowMs(), kind: kind, data: data)
        state.withLock { state in
            state.events.append(event)
            if state.events.count > capacity {
                state.events.removeFirst(state.events.count - capacity)
                state.dropped += 1
            }
        }
        wakeup.signal()
    }

    /// Takes every waiting event, oldest first.
    func take() -> [DeviceEvent] {
        state.withLock { state in
            defer { state.events.removeAll() }
            return state.events
        }
    }

    /// Puts events back at the front (their send failed), still within the cap.
    func putBack(_ events: [DeviceEvent]) {
        state.withLock { state in
            state.events = Array((events + state.events).suffix(capacity))
        }
    }

    public var dropped: Int64 { state.withLock { $0.dropped } }
}
