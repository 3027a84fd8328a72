import PostgresNIO
import Synchronization

/// A deadline on one write: the lease of a pooled connection and the statement on it.
///
/// postgres-nio 1.33 bounds neither: a lease can wait behind connections that never come
/// back, and a statement waits as long as the server stays silent (a commit waiting for a
/// stalled synchronous standby, a peer gone without a FIN). Past the deadline the lease
/// request is withdrawn, or the connection is closed, and ``StoreError/Code/writeDeadline``
/// is thrown; the pool opens a new connection and the caller retries.
///
/// Closing, never cancelling: a `CancelRequest` (or `statement_timeout`) ends a commit's
/// wait for the synchronous standby and leaves it committed on the primary alone, where an
/// ack would promise a row a failover can lose. A closed client leaves that backend waiting
/// as it was (a commit waits for the standby with interrupts held off). The retry must itself
/// write WAL before it acks (``ReadingsStore``), so its commit waits for the standby to hold
/// everything before it, the abandoned commit included. On ingest sessions (``Database/ingest``)
/// a backend abandoned while its statement still runs, a lock wait included, ends within
/// `client_connection_check_interval`, and `lock_timeout` ends a lock wait before the deadline.
public struct WriteDeadline: Sendable {
    public let limit: Duration

    public init(_ limit: Duration) {
        self.limit = limit
    }

    /// The connection `run` leased, for the deadline to close.
    private final class Lease: Sendable {
        let connection = Mutex<PostgresConnection?>(nil)
    }

    /// Runs `body` on a pooled connection within ``limit``.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/writeDeadline`` past the deadline; otherwise what `body` throws.
    public func run<Result: Sendable>(
        _ client: PostgresPool, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let lease = Lease()
        let limit = limit
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    lease.connection.withLock { $0 = connection }
                    // The deadline may have passed between the lease and the line above: it cancelled
                    // this task before a connection was there to close, and a statement ignores cancellation.
                    try Task.checkCancellation()
                    let result = try await body(connection)
                    lease.connection.withLock { $0 = nil }
                    return result
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            if let first = try await group.next(), let result = first {
                group.cancelAll()
                return result
            }
            group.cancelAll()
            lease.connection.withLock { $0 }?.close().whenComplete { _ in }
            throw StoreError(.writeDeadline, "no answer within \(limit); the connection was closed")
        }
    }
}
