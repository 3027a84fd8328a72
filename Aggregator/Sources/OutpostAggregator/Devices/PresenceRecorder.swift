import OutpostWire
import Synchronization

/// Where the broker consumer drops what presence tracking needs, for ``PresenceService``
/// to write in batches.
///
/// Last-seen times merge per device in a map bounded by `max_pending_devices` (a device
/// beyond it is skipped until the next flush; its next message records it). State messages
/// wait in a ``StateBacklog`` that coalesces instead of making the consumer wait. Events keep
/// their order in a bounded queue; the consumer waits while it is full.
public final class PresenceRecorder: Sendable {
    public enum Input: Sendable {
        case event(DeviceEvent)
        /// State messages wait in the backlog: the first after an empty one, or a full batch.
        case statesWaiting
    }

    let inputs: BoundedQueue<Input>
    private let seen = Mutex<[DeviceID: SeenWindow]>([:])
    private let states: Mutex<StateBacklog>
    let maxPendingDevices: Int
    /// Most state messages written in one statement.
    let stateBatchMax: Int

    public init(maxPendingDevices: Int, maxPendingMessages: Int = 10_000, stateBatchMax: Int = 500) {
        self.maxPendingDevices = maxPendingDevices
        self.stateBatchMax = stateBatchMax
        inputs = BoundedQueue(limit: maxPendingMessages)
        states = Mutex(StateBacklog(limit: maxPendingMessages, deviceLimit: 100))
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

    /// Queues an event, waiting while the queue is full.
    public func record(_ event: DeviceEvent) async {
        await inputs.push(.event(event), weight: 1)
    }

    /// Queues a state message without waiting; returns how it was admitted.
    @discardableResult
    public func record(_ state: StateObservation) -> StateBacklog.Admission {
        let stateBatchMax = stateBatchMax
        let (admission, wake) = states.withLock { backlog in
            let admission = backlog.add(state, at: .now)
            return (admission, backlog.count == 1 || backlog.count == stateBatchMax)
        }
        // A full event queue means the service is busy and checks the backlog before it waits.
        if wake { _ = inputs.tryPush(.statesWaiting, weight: 1) }
        return admission
    }

    /// When the pending state messages are due: at once when they fill a batch, else
    /// `linger` after the first of them arrived; nil when none are pending.
    func statesDue(linger: Duration) -> ContinuousClock.Instant? {
        states.withLock { backlog in
            guard let oldest = backlog.oldestAt else { return nil }
            return backlog.count >= stateBatchMax ? oldest : oldest + linger
        }
    }

    /// Takes the next batch of state messages, oldest first.
    func takeStates() -> [StateObservation] {
        states.withLock { $0.take(max: stateBatchMax) }
    }

    /// Takes every pending state message, oldest first.
    func takeAllStates() -> [StateObservation] {
        states.withLock { $0.take(max: .max) }
    }

    /// Takes the last-seen windows gathered since the previous call.
    func takeSeen() -> [DeviceID: SeenWindow] {
        seen.withLock { seen in
            defer { seen = [:] }
            return seen
        }
    }
}
