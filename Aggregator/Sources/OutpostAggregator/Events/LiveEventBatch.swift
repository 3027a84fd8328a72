import Synchronization

/// One live-event stream's events waiting to be written, taken together: the relay writes what
/// arrived within ``interval`` of the first in one write. Bounded like ``EventFeed``'s buffer
/// per subscriber: past `capacity` the oldest are dropped.
final class LiveEventBatch: Sendable {
    /// How long a write waits for more events after the first, so at most this is added to an
    /// event's latency; at 1,000 events a second it makes one write of about 25.
    static let interval: Duration = .milliseconds(25)

    /// Rings once, however many events arrive, until ``take()`` empties the batch.
    let ready: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation
    private let pending = Mutex<[String]>([])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        (ready, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func add(_ payload: String) {
        pending.withLock { events in
            if events.count >= capacity { events.removeFirst(events.count - capacity + 1) }
            events.append(payload)
        }
        ring.yield()
    }

    /// Everything added since the last take, oldest first.
    func take() -> [String] {
        pending.withLock { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }

    /// No more events: ``ready`` ends after its last ring.
    func finish() {
        ring.finish()
    }
}
