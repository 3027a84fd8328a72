import PostgresNIO

/// What a failed write means for its batch, from the error's SQLSTATE.
///
/// - ``data``: the rows themselves were refused (class 22 data exception, 23 integrity
///   violation, 54 program limit exceeded). Retrying cannot help: the batch is split to find
///   the offending message, the rest is stored, the offender is dead-lettered.
/// - ``transient``: the server or the connection failed (08 connection, 40 rollback, 53
///   resources, 57 operator intervention, no SQLSTATE at all when the connection was lost),
///   or anything else that is not about one message's data. The whole batch is retried later.
///
/// Intended conflicts (a re-delivered reading's unique violation) are handled by the write
/// itself before it gets here.
public enum WriteFailure: Sendable, Equatable {
    case data(sqlstate: String)
    case transient

    /// SQLSTATE classes whose failure is caused by the data written.
    static let dataClasses: Set<Substring> = ["22", "23", "54"]

    public static func classify(sqlstate: String?) -> WriteFailure {
        guard let sqlstate, sqlstate.count == 5, dataClasses.contains(sqlstate.prefix(2)) else { return .transient }
        return .data(sqlstate: sqlstate)
    }

    public static func classify(_ error: any Error) -> WriteFailure {
        if let error = error as? PSQLError { return classify(sqlstate: error.serverInfo?[.sqlState]) }
        if let error = error as? PostgresTransactionError {
            for underlying in [error.closureError, error.beginError, error.commitError, error.rollbackError].compactMap({ $0 }) {
                if case .data(let sqlstate) = classify(underlying) { return .data(sqlstate: sqlstate) }
            }
        }
        return .transient
    }
}

/// Writes a batch so that one message whose data PostgreSQL refuses never blocks the others.
///
/// The batch is written whole first. On a ``WriteFailure/data(sqlstate:)`` failure it is
/// halved, and each half written the same way, until the failing items stand alone: at
/// most about `2·k·log₂(n)` extra round trips for `k` offenders among `n` items. A transient
/// failure stops the run; what was written stays written, and ``Outcome/remaining`` (in
/// order) is what the caller retries.
public struct BatchIsolation<Item: Sendable, Output: Sendable>: Sendable {
    public struct Outcome {
        /// What each successful write returned, in order.
        public var outputs: [Output] = []
        /// Items refused for their data, each with its SQLSTATE.
        public var offenders: [(item: Item, sqlstate: String)] = []
        /// Items not written because a transient failure stopped the run, in order.
        public var remaining: [Item] = []
        /// That transient failure.
        public var transientError: (any Error)?
    }

    let classify: @Sendable (any Error) -> WriteFailure

    public init(classify: @escaping @Sendable (any Error) -> WriteFailure = { WriteFailure.classify($0) }) {
        self.classify = classify
    }

    public func write(_ items: [Item], _ write: ([Item]) async throws -> Output) async -> Outcome {
        var outcome = Outcome()
        // Slices still to write, next one last, so items are written in their order.
        var pending: [ArraySlice<Item>] = items.isEmpty ? [] : [items[...]]
        while let slice = pending.popLast() {
            do {
                outcome.outputs.append(try await write(Array(slice)))
            } catch {
                switch classify(error) {
                case .transient:
                    outcome.transientError = error
                    outcome.remaining = Array(slice) + pending.reversed().flatMap { Array($0) }
                    return outcome
                case .data(let sqlstate):
                    if slice.count == 1 {
                        outcome.offenders.append((slice[slice.startIndex], sqlstate))
                    } else {
                        let middle = slice.startIndex + slice.count / 2
                        pending.append(slice[middle...])
                        pending.append(slice[..<middle])
                    }
                }
            }
        }
        return outcome
    }
}
