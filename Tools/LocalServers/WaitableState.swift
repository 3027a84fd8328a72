import Synchronization

/// A value a test stand-in changes and a test waits on: each change wakes the waiters whose
/// condition now holds, so the test waits on the event instead of polling with ``waitUntil``.
public final class WaitableState<Value: Sendable>: Sendable {
    private struct Waiter {
        let condition: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct Guarded {
        var value: Value
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
        /// Waiters whose timeout came before they were registered.
        var expired: Set<UInt64> = []
    }

    private let guarded: Mutex<Guarded>

    public init(_ value: Value) {
        guarded = Mutex(Guarded(value: value))
    }

    public var value: Value { guarded.withLock { $0.value } }

    /// Changes the value, then wakes every waiter whose condition now holds.
    public func update(_ change: (inout Value) -> Void) {
        let woken = guarded.withLock { guarded -> [Waiter] in
            change(&guarded.value)
            let value = guarded.value
            let ready = guarded.waiters.filter { $0.value.condition(value) }
            for key in ready.keys { guarded.waiters.removeValue(forKey: key) }
            return Array(ready.values)
        }
        for waiter in woken { waiter.continuation.resume(returning: true) }
    }

    /// Waits until the value satisfies `condition`; throws after `timeout`.
    public func wait(timeout: Duration, _ what: String, until condition: @escaping @Sendable (Value) -> Bool) async throws {
        let id = guarded.withLock { guarded -> UInt64 in
            guarded.nextWaiter += 1
            return guarded.nextWaiter
        }
        let met = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let outcome = self.guarded.withLock { guarded -> Bool? in
                        if condition(guarded.value) { return true }
                        if guarded.expired.remove(id) != nil { return false }
                        guarded.waiters[id] = Waiter(condition: condition, continuation: continuation)
                        return nil
                    }
                    if let outcome { continuation.resume(returning: outcome) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.guarded.withLock { guarded -> Waiter? in
                    guard let waiter = guarded.waiters.removeValue(forKey: id) else {
                        guarded.expired.insert(id)
                        return nil
                    }
                    return waiter
                }
                waiter?.continuation.resume(returning: false)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guarded.withLock { _ = $0.expired.remove(id) }
        guard met else { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
    }
}
