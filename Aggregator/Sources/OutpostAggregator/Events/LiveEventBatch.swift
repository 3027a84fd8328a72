import Synchronization

/// One live-event stream's events waiting to be written, taken together: the relay writes what
/// arrived within ``interval`` of the first in one write. Bounded like ``EventFeed``'s buffer
/// per subscriber: past `capacity` the oldest are dropped.
final class LiveEventBatch: Sendable {
    /// How long a write waits for more events after the first, so at most this is added to an
    /// event's latency; at 1,000 events a second it makes one write of about 25.
    static let interval: Duration = .milliseconds(25)

    /// Rings when events arrive; rings that come before the relay wakes are one.
    let ready: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation
    private let pending = Mutex<[String]>([])
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a batch holds at least one event")
        self.capacity = capacity
        (ready, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Drops the oldest past twice the capacity at once, so that a stalled stream's adds stay
    /// O(1) amortized; ``take()`` returns at most `capacity`.
    func add(_ payload: String) {
        pending.withLock { events in
            events.append(payload)
            if events.count >= 2 * capacity { events.removeFirst(events.count - capacity) }
        }
        ring.yield()
    }

    /// The newest `capacity` events added since the last take, oldest first.
    func take() -> [String] {
        pending.withLock { events in
            let taken = events.count > capacity ? Array(events.suffix(capacity)) : events
            events = []
            return taken
        }
    }

    /// No more events: ``ready`` ends after its last ring.
    func finish() {
        ring.finish()
    }
}
