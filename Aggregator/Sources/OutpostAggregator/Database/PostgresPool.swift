import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A `PostgresClient` whose statements never keep their caller waiting forever.
///
/// postgres-nio 1.33 writes a statement to its connection's channel without a write promise.
/// When the pool hands out a connection whose channel is closing (the server ended it, as in a
/// failover, and the pool has not yet heard), the statement never reaches the connection's
/// handler and its answer never comes: the caller waits forever, and cancellation does not end
/// the wait. A service waiting like that never finishes its loop again and holds the whole
/// aggregator's shutdown (seen after Patroni failovers: command dispatch stopped for good).
///
/// So every wait here runs in a task of its own that the caller can leave: on
/// `withConnection` and `withTransaction` when their connection closes (the statement's own
/// error gets ``closeGrace`` to arrive first, so the usual errors keep their shape) or the caller
/// is cancelled (the connection is then closed, so no abandoned statement shares a session with
/// the next lease); on a single ``query(_:logger:within:file:line:)``, whose connection the client keeps
/// to itself, when no answer came within ``answerLimit`` or the caller is cancelled.
public struct PostgresPool: Sendable {
    public let client: PostgresClient
    let logger: Logger

    /// How long a single ``query(_:logger:within:file:line:)`` may wait for its answer by default: as long as
    /// an ingest write by default (`ingest.write_deadline_ms`), and the service group's graceful
    /// shutdown. Long work (migrations, exports) runs in ``withConnection(_:)``, which has no limit.
    public static let answerLimit: Duration = .seconds(30)
    /// How often a connection in use is checked for having closed.
    static let closePoll: Duration = .seconds(1)
    /// How long a closed connection's own error is given to reach the caller before the wait ends.
    static let closeGrace: Duration = .milliseconds(500)

    public init(configuration: PostgresClient.Configuration, backgroundLogger logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the pool until the task is cancelled or the service group shuts down.
    public func run() async {
        await client.run()
    }

    /// True for the failures this type reports in place of an answer that never came; they are
    /// transient like a lost connection (the caller retries).
    public static func isTransient(_ error: StoreError) -> Bool {
        error.code == .noAnswer || error.code == .connectionLost
    }

    /// Runs `query` on a pooled connection; the rows are read from the returned sequence.
    ///
    /// PostgreSQL answers a small result only once the statement has run, so `limit` bounds the
    /// whole statement: maintenance that may wait for locks or delete much (partitions, retention)
    /// passes nil and is left only when its caller is cancelled.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/noAnswer`` after `limit` without an answer;
    ///   `CancellationError` when the caller is cancelled; otherwise what postgres-nio throws.
    @discardableResult
    public func query(
        _ query: PostgresQuery, logger: Logger? = nil, within limit: Duration? = PostgresPool.answerLimit,
        file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        let client = client
        return try await LeavableWait.run(limit: limit, logger: self.logger) {
            try await client.query(query, logger: logger, file: file, line: line)
        }
    }

    /// Runs a prepared statement on a pooled connection (postgres-nio prepares it there, by its
    /// name, the first time) and reads all its rows, bounded like ``query(_:logger:within:file:line:)``.
    ///
    /// On an error from PostgreSQL the connection is closed: postgres-nio keeps a failed
    /// preparation's error for the statement's name and answers every later execution on that
    /// connection with it, and a statement whose result type changed under it (a migration by
    /// another instance) fails on its connection each time. A new connection prepares afresh.
    ///
    /// - Throws: as ``query(_:logger:within:file:line:)``, and what the statement's `decodeRow` throws.
    public func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger? = nil, within limit: Duration? = PostgresPool.answerLimit,
        file: String = #fileID, line: Int = #line
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        let (client, logger) = (client, logger ?? self.logger)
        return try await LeavableWait.run(limit: limit, logger: self.logger) {
            try await client.withConnection { connection in
                do {
                    var rows: [Statement.Row] = []
                    for try await row in try await connection.execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
                    return rows
                } catch let error as PSQLError {
                    try? await connection.close()
                    throw error
                }
            }
        }
    }

    /// Runs `body` with a pooled connection of its own.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/noAnswer`` when no connection was leased within
    ///   ``answerLimit``; ``StoreError/Code/connectionLost`` when the connection closed
    ///   under `body` and no error of its own came; `CancellationError`; otherwise what `body` throws.
    public func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result)
        async throws -> Result
    {
        let (client, logger) = (client, logger)
        let leased = Flag()
        // The lease itself is bounded too: postgres-nio 1.33.2's pool can leave a lease request
        // waiting after its last connection failed (postgres-nio issue #657).
        return try await LeavableWait.run(limit: Self.answerLimit, while: { !leased.isSet }, logger: logger) {
            try await client.withConnection { connection in
                leased.set()
                do {
                    return try await LeavableWait.run(closing: connection, logger: logger) { try await body(connection) }
                } catch is CancellationError {
                    // Left while its work may still run: the lease goes back only once the connection
                    // is closed, so the pool never hands it out again (a statement written to it then
                    // would be lost as above).
                    try? await connection.close()
                    throw CancellationError()
                }
            }
        }
    }

    /// Runs `body` in a transaction on a pooled connection (postgres-nio's `withTransaction`, so its
    /// errors are `PostgresTransactionError` as before), left like ``withConnection(_:)``.
    public func withTransaction<Result: Sendable>(
        logger: Logger, file: String = #file, line: Int = #line,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.withTransaction(logger: logger, file: file, line: line) { connection in try await body(connection) }
        }
    }
}

/// A flag set once, read from other tasks.
private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Awaits work in a task of its own that the caller can leave (``PostgresPool``).
enum LeavableWait {
    /// The first of: the work's result, its connection closed, `limit` passed, the caller cancelled.
    private final class Race<Value: Sendable>: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<Value, any Error>?, done: Bool, cancels: [@Sendable () -> Void])>(
            (nil, false, []))

        /// False when the caller was cancelled before the continuation existed: then nothing may start.
        func start(_ continuation: CheckedContinuation<Value, any Error>) -> Bool {
            let finished = state.withLock { state -> Bool in
                if state.done { return true }
                state.continuation = continuation
                return false
            }
            if finished { continuation.resume(throwing: CancellationError()) }
            return !finished
        }

        /// Keeps what to cancel (the work, its timers) once the race is over.
        func keep(_ cancel: @escaping @Sendable () -> Void) {
            let finished = state.withLock { state -> Bool in
                if !state.done { state.cancels.append(cancel) }
                return state.done
            }
            if finished { cancel() }
        }

        /// Resumes the caller once; true when this call was the one that did.
        @discardableResult
        func finish(_ result: Result<Value, any Error>) -> Bool {
            let (continuation, cancels, won) = state.withLock { state in
                if state.done { return (nil as CheckedContinuation<Value, any Error>?, [@Sendable () -> Void](), false) }
                state.done = true
                defer { state.continuation = nil; state.cancels = [] }
                return (state.continuation, state.cancels, true)
            }
            cancels.forEach { $0() }
            continuation?.resume(with: result)
            return won
        }
    }

    static func run<Value: Sendable>(
        closing connection: PostgresConnection? = nil, limit: Duration? = nil, while limitApplies: @escaping @Sendable () -> Bool = { true },
        logger: Logger,
        _ work: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let race = Race<Value>()
        // Timers on an event loop, not `Task.sleep`: a cancelled sleep's timer stays queued until
        // its deadline, and every statement arms one.
        let loop = connection?.closeFuture.eventLoop ?? PostgresClient.defaultEventLoopGroup.any()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard race.start(continuation) else { return }
                let task = Task {
                    do { race.finish(.success(try await work())) } catch { race.finish(.failure(error)) }
                }
                race.keep { task.cancel() }
                if let limit {
                    let timer = loop.scheduleTask(in: TimeAmount(limit)) {
                        guard limitApplies() else { return }
                        if race.finish(.failure(StoreError(.noAnswer, "no answer from PostgreSQL within \(limit)"))) {
                            logger.warning("a statement had no answer in time; left", metadata: ["limit": "\(limit)"])
                        }
                    }
                    race.keep { timer.cancel() }
                }
                if let connection {
                    // Polled, not a `closeFuture` callback: a pooled connection lives for many
                    // leases, and each callback would stay registered until it closes.
                    let poll = loop.scheduleRepeatedTask(
                        initialDelay: TimeAmount(PostgresPool.closePoll), delay: TimeAmount(PostgresPool.closePoll)
                    ) { poll in
                        guard connection.isClosed else { return }
                        poll.cancel()
                        let grace = loop.scheduleTask(in: TimeAmount(PostgresPool.closeGrace)) {
                            if race.finish(.failure(StoreError(.connectionLost, "the connection closed before its statement was answered"))) {
                                logger.warning("a statement's connection closed without an answer; left")
                            }
                        }
                        race.keep { grace.cancel() }
                    }
                    race.keep { poll.cancel() }
                }
            }
        } onCancel: {
            // The caller (``PostgresPool/withConnection(_:)``) closes a connection whose work is left.
            race.finish(.failure(CancellationError()))
        }
    }
}
