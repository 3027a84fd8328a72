import Dispatch
import Synchronization

/// The client's events as an `AsyncSequence`, with back-pressure.
///
/// At most `limit` messages wait in the buffer. When it is full, the network thread
/// waits for the consumer to take one, so the broker, not this process, holds the
/// backlog (bounded by the receive maximum). Iterate it from one task only.
public struct MQTTEvents: AsyncSequence, Sendable {
    public typealias Element = MQTTEvent

    let stream: AsyncStream<MQTTEvent>
    let credits: DispatchSemaphore

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<MQTTEvent>.AsyncIterator
        let credits: DispatchSemaphore

        public mutating func next() async -> MQTTEvent? {
            let event = await base.next()
            if case .message = event { credits.signal() }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), credits: credits)
    }
}
