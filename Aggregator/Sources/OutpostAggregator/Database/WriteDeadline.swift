import PostgresNIO
import Synchronization

/// A deadline on one write: the lease of a pooled connection and the statement on it.
///
/// postgres-nio 1.33 bounds neither: a lease can wait behind connections that never come
/// back (or for ever once the pool has stopped), and a statement waits as long as the server
/// stays silent (a commit waiting for a stalled synchronous standby, a peer gone without a
/// FIN). Past the deadline the caller gets ``StoreError/Code/writeDeadline`` at once; the
/// write's task is cancelled (which withdraws a waiting lease request) and its connection,
/// if it got one, closed, so the pool opens a new one and the caller retries.
///
/// Closing, never cancelling: a `CancelRequest` (or `statement_timeout`) ends a commit's
/// wait for the synchronous standby and leaves it committed on the primary alone, where an
/// ack would promise a row a failover can lose. A closed client leaves that backend waiting
/// as it was. The retry must itself write WAL before it acks (``ReadingStore``), so its
/// commit waits for the standby to hold everything before it, the abandoned commit included.
public struct WriteDeadline: Sendable {
    public let limit: Duration

    public init(_ limit: Duration) {
        self.limit = limit
    }

    /// One write's outcome, settled once: by the write, by the deadline, or by the caller's cancellation.
    private final class Race<Result: Sendable>: Sendable {
        let state = Mutex<(continuation: CheckedContinuation<Result, any Error>?, connection: PostgresConnection?)>((nil, nil))
        /// The write and the deadline's timer.
        let work = Mutex<Task<Void, Never>?>(nil)
        let timer = Mutex<Task<Void, Never>?>(nil)

        /// Resumes the caller unless already resumed; true when this call did.
        @discardableResult
        func settle(_ result: Swift.Result<Result, any Error>) -> Bool {
            guard let continuation = state.withLock({ state in
                defer { state.continuation = nil }
                return state.continuation
            }) else { return false }
            continuation.resume(with: result)
            return true
        }

        /// Records the leased connection; false when the race is already settled (the deadline passed).
        func leased(_ connection: PostgresConnection) -> Bool {
            state.withLock { state in
                guard state.continuation != nil else { return false }
                state.connection = connection
                return true
            }
        }

        /// Closes the leased connection, if any.
        func closeConnection() {
            let connection = state.withLock { state in
                defer { state.connection = nil }
                return state.connection
            }
            let closing: EventLoopFuture<Void>? = connection?.close()
            _ = closing
        }
    }

    /// Runs `body` on a pooled connection within ``limit``.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/writeDeadline`` past the deadline; `CancellationError`
    ///   when the calling task is cancelled first; otherwise what `body` throws.
    public func run<Result: Sendable>(
        _ client: PostgresClient, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let race = Race<Result>()
        let limit = limit
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.state.withLock { $0.continuation = continuation }
                race.work.withLock { $0 = Task {
                    do {
                        let result = try await client.withConnection { connection in
                            // A statement ignores cancellation: never start one once the race is settled.
                            guard race.leased(connection) else { throw CancellationError() }
                            return try await body(connection)
                        }
                        race.settle(.success(result))
                    } catch {
                        race.settle(.failure(error))
                    }
                    race.timer.withLock { $0 }?.cancel()
                } }
                race.timer.withLock { $0 = Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    if race.settle(.failure(StoreError(.writeDeadline, "no answer within \(limit); the connection was closed"))) {
                        race.work.withLock { $0 }?.cancel()
                        race.closeConnection()
                    }
                } }
            }
        } onCancel: {
            if race.settle(.failure(CancellationError())) {
                race.work.withLock { $0 }?.cancel()
                race.closeConnection()
            }
            race.timer.withLock { $0 }?.cancel()
        }
    }
}
