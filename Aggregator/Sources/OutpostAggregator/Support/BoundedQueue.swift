import Synchronization

/// A FIFO between tasks with a weight limit: producers wait while it is full,
/// consumers wait (optionally until a deadline) while it is empty.
///
/// The weight is what memory is bounded by (readings, not messages). An element heavier
/// than the whole limit is still admitted when the queue is empty, so nothing stalls forever.
/// Waiting producers and consumers resume on ``finish()`` and on task cancellation.
public final class BoundedQueue<Element: Sendable>: Sendable {
    private struct Entry {
        var element: Element
        var weight: Int
    }

    private struct Waiter<Value> {
        var id: UInt64
        var continuation: CheckedContinuation<Value, Never>
    }

    private enum PushStep {
        case added(Waiter<Element?>?, Entry?)
        case finished
        case wait
    }

    private struct State {
        var entries: [Entry] = []
        var head = 0
        var weight = 0
        var finished = false
        var nextID: UInt64 = 0
        var producers: [Waiter<Bool>] = []
        var consumers: [Waiter<Element?>] = []
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Total weight waiting.
    public var weight: Int { state.withLock { $0.weight } }

    /// True once ``finish()`` was called.
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// Adds `element`, waiting while the queue is full. Returns false when the queue was
    /// finished (or the task cancelled) before it could be added.
    @discardableResult
    public func push(_ element: Element, weight: Int) async -> Bool {
        while true {
            switch add(element, weight: weight) {
            case .finished:
                return false
            case .added(let consumer, let entry):
                if let consumer, let entry { consumer.continuation.resume(returning: entry.element) }
                return true
            case .wait:
                if Task.isCancelled { return false }
                let id = state.withLock { state -> UInt64 in
                    state.nextID += 1
                    return state.nextID
                }
                let proceed = await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let resumeNow: Bool? = state.withLock { state in
                            if state.finished || Task.isCancelled { return false }
                            if state.weight == 0 || state.weight + weight <= limit { return true }
                            state.producers.append(Waiter(id: id, continuation: continuation))
                            return nil
                        }
                        if let resumeNow { continuation.resume(returning: resumeNow) }
                    }
                } onCancel: {
                    let waiter = state.withLock { state -> Waiter<Bool>? in
                        guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.producers.remove(at: index)
                    }
                    waiter?.continuation.resume(returning: false)
                }
                if !proceed { return false }
            }
        }
    }

    /// Adds `element` if it fits now, never waiting. False when full or finished.
    public func tryPush(_ element: Element, weight: Int) -> Bool {
        guard case .added(let consumer, let entry) = add(element, weight: weight) else { return false }
        if let consumer, let entry { consumer.continuation.resume(returning: entry.element) }
        return true
    }

    /// Takes the oldest element without waiting.
    public func tryPop() -> Element? {
        let (element, producers) = state.withLock { state in take(&state) }
        producers.forEach { $0.continuation.resume(returning: true) }
        return element
    }

    /// Takes the oldest element, waiting for one until `deadline` (forever when nil).
    /// Returns nil at the deadline, on cancellation, or when finished and empty.
    public func pop(until deadline: ContinuousClock.Instant? = nil) async -> Element? {
        if let element = tryPop() { return element }
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = deadline.map { deadline in
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                self?.resumeConsumer(id: id)
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let (immediate, producers): (Element??, [Waiter<Bool>]) = state.withLock { state in
                    let (element, producers) = take(&state)
                    if let element { return (.some(element), producers) }
                    if state.finished || Task.isCancelled { return (.some(nil), producers) }
                    if let deadline, ContinuousClock.now >= deadline { return (.some(nil), producers) }
                    state.consumers.append(Waiter(id: id, continuation: continuation))
                    return (nil, producers)
                }
                producers.forEach { $0.continuation.resume(returning: true) }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            resumeConsumer(id: id)
        }
    }

    /// Stops accepting elements; the consumer still receives what is queued, then nil.
    public func finish() {
        let (producers, consumers) = state.withLock { state in
            state.finished = true
            defer {
                state.producers = []
                state.consumers = []
            }
            // Consumers wait only while the queue is empty, so every one of them is done.
            return (state.producers, state.consumers)
        }
        producers.forEach { $0.continuation.resume(returning: false) }
        consumers.forEach { $0.continuation.resume(returning: nil) }
    }

    /// Adds `element` when it fits: handed straight to a waiting consumer (returned with it) or queued.
    private func add(_ element: Element, weight: Int) -> PushStep {
        state.withLock { state in
            if state.finished { return .finished }
            guard state.weight == 0 || state.weight + weight <= limit else { return .wait }
            let entry = Entry(element: element, weight: weight)
            if !state.consumers.isEmpty {
                return .added(state.consumers.removeFirst(), entry)
            }
            state.entries.append(entry)
            state.weight += weight
            return .added(nil, nil)
        }
    }

    private func resumeConsumer(id: UInt64) {
        let waiter = state.withLock { state -> Waiter<Element?>? in
            guard let index = state.consumers.firstIndex(where: { $0.id == id }) else { return nil }
            return state.consumers.remove(at: index)
        }
        waiter?.continuation.resume(returning: nil)
    }

    /// Removes the head entry and returns the producers that now fit.
    private func take(_ state: inout State) -> (Element?, [Waiter<Bool>]) {
        guard state.head < state.entries.count else { return (nil, []) }
        let entry = state.entries[state.head]
        state.head += 1
        state.weight -= entry.weight
        if state.head == state.entries.count {
            state.entries.removeAll(keepingCapacity: true)
            state.head = 0
        } else if state.head > 1_024 && state.head * 2 > state.entries.count {
            state.entries.removeFirst(state.head)
            state.head = 0
        }
        // Wake every waiting producer; each re-checks the limit itself.
        let producers = state.producers
        state.producers = []
        return (entry.element, producers)
    }
}
