import OutpostWire
import Synchronization

/// Where the broker consumer drops what presence tracking needs, for ``PresenceService``
/// to write in batches.
///
/// Last-seen times merge per device in a map bounded by `max_pending_devices` (a device
/// beyond it is skipped until the next flush; its next message records it). State
/// messages and events keep their order in a bounded queue; the consumer waits while it is full.
public final class PresenceRecorder: Sendable {
    public enum Input: Sendable {
        case state(StateObservation)
        case event(DeviceEvent)
    }

    let inputs: BoundedQueue<Input>
    private let seen = Mutex<[DeviceID: SeenWindow]>([:])
    let maxPendingDevices: Int

    public init(maxPendingDevices: Int, maxPendingMessages: Int = 10_000) {
        self.maxPendingDevices = maxPendingDevices
        inputs = BoundedQueue(limit: maxPendingMessages)
    }

    /// Records that `device` was heard from at `ms`.
    public func saw(_ device: DeviceID, atMs ms: Int64) {
        seen.withLock { seen in
            if seen[device] != nil {
                seen[device]!.merge(ms)
            } else if seen.count < maxPendingDevices {
                seen[device] = SeenWindow(firstMs: ms, lastMs: ms)
            }
        }
    }

    /// Queues a state message or an event, waiting while the queue is full.
    public func record(_ input: Input) async {
        await inputs.push(input, weight: 1)
    }

    /// Takes the last-seen windows gathered since the previous call.
    func takeSeen() -> [DeviceID: SeenWindow] {
        seen.withLock { seen in
            defer { seen = [:] }
            return seen
        }
    }
}
