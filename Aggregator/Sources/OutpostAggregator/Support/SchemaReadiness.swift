import Synchronization

/// Opens once the schema is migrated and today's partitions exist. Services that
/// touch PostgreSQL or take messages from the broker wait on it, so nothing is
/// consumed (and acknowledged to the broker) before it can be stored.
public final class SchemaReadiness: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Bool, Never>])
        case ready
        case failed
    }

    private let state = Mutex(State.waiting([]))

    public init() {}

    public var isReady: Bool {
        state.withLock { if case .ready = $0 { true } else { false } }
    }

    /// Waits until ready. Throws `CancellationError` when the schema could not be
    /// prepared or the task is cancelled.
    public func wait() async throws {
        let ready = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let immediate: Bool? = state.withLock { state in
                switch state {
                case .ready: return true
                case .failed: return false
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
        guard ready else { throw CancellationError() }
        try Task.checkCancellation()
    }

    func open() { resolve(.ready, true) }
    func fail() { resolve(.failed, false) }

    private func resolve(_ final: State, _ value: Bool) {
        let waiters: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = final
            return waiters
        }
        waiters.forEach { $0.resume(returning: value) }
    }
}
