import Logging
import OutpostCommon
import PostgresNIO
import Prometheus

/// Writes a batch of readings in one round trip: one statement, committed on its own.
///
/// The statement unnests column arrays (no per-row statements), keeps only readings of
/// devices that exist and are not revoked, inserts them, and reports how many rows were
/// new and which devices were refused, so their messages can be counted and left unacked.
/// The readings key makes a re-delivery insert nothing (see ``write(_:)``).
public struct ReadingStore: Sendable {
    /// What one write did.
    public struct Outcome: Sendable, Equatable {
        /// Readings inserted; the rest of the accepted ones were already stored.
        public var inserted: Int
        /// Devices whose readings were accepted.
        public var accepted: Set<DeviceID>
        /// Devices with a row but `revoked_at` set.
        public var revoked: Set<DeviceID>
    }

    let client: PostgresClient
    let logger: Logger
    let conflictFallbacks: Counter?
    let deadlines: Counter?
    /// Bounds each write, lease included (``WriteDeadline``).
    let deadline: WriteDeadline

    public init(client: PostgresClient, logger: Logger, metrics: AggregatorMetrics? = nil, deadline: Duration = .seconds(30)) {
        self.client = client
        self.logger = logger
        self.conflictFallbacks = metrics?.conflictFallbacks
        self.deadlines = metrics?.writeDeadlines
        self.deadline = WriteDeadline(deadline)
    }

    /// Writes `batch`. The plain insert runs first: re-deliveries are rare (they follow
    /// crashes and lost acks), and skipping the conflict check makes the common case about
    /// a third cheaper for the server. When the batch holds a reading already stored, the
    /// statement fails whole with a unique violation and nothing of it stays; it is then
    /// written again with `ON CONFLICT DO NOTHING`.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/writeDeadline`` when a write takes longer than
    ///   its deadline (its connection is closed; retrying is safe); PostgreSQL's errors otherwise.
    public func write(_ batch: IngestBatch) async throws -> Outcome {
        do {
            return try await write(batch, onConflictDoNothing: false)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            conflictFallbacks?.increment()
            return try await write(batch, onConflictDoNothing: true)
        }
    }

    static let uniqueViolation = "23505"

    func write(_ batch: IngestBatch, onConflictDoNothing: Bool) async throws -> Outcome {
        let columns = batch.columns
        let devices = batch.devices.map(\.rawValue)
        // The plain insert stores every row of the accepted devices or fails whole, so its
        // count is known here: no RETURNING, which would make PostgreSQL keep every inserted
        // row in a tuple store only to count them.
        let conflictClause = onConflictDoNothing ? "ON CONFLICT DO NOTHING RETURNING 1" : ""
        let insertedCount = onConflictDoNothing ? "(SELECT count(*) FROM inserted)" : "0::int8"
        // A re-delivery may find its rows committed by a write whose connection was closed
        // while the commit waited for the synchronous standby: committed on the primary, maybe
        // not yet on the standby. Inserting nothing writes no WAL and would ack them at once;
        // taking a transaction id gives this statement a commit record, and its commit waits
        // until the standby holds everything before it, those rows included.
        let durableRead = onConflictDoNothing ? "WHERE pg_current_xact_id() IS NOT NULL" : ""
        let query: PostgresQuery = """
            WITH known AS (
                SELECT id, revoked_at IS NULL AS active FROM devices WHERE id = ANY(\(devices)::text[])
            ), inserted AS (
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT b.device, b.buffer, b.seq, timestamptz 'epoch' + b.ts_ms * interval '1 millisecond', b.metric, b.value
                FROM unnest(\(columns.devices)::text[], \(columns.buffers)::int8[], \(columns.seqs)::int8[],
                            \(columns.timestamps)::int8[], \(columns.metrics)::text[], \(columns.values)::float8[])
                     AS b(device, buffer, seq, ts_ms, metric, value)
                JOIN known k ON k.id = b.device AND k.active
                \(unescaped: conflictClause)
            )
            SELECT \(unescaped: insertedCount),
                   coalesce((SELECT array_agg(id) FROM known WHERE active), '{}'::text[]),
                   coalesce((SELECT array_agg(id) FROM known WHERE NOT active), '{}'::text[])
            \(unescaped: durableRead)
            """
        let logger = logger
        var outcome: Outcome
        do {
            outcome = try await deadline.run(client) { connection in
                var outcome = Outcome(inserted: 0, accepted: [], revoked: [])
                for try await (inserted, accepted, revoked) in try await connection.query(query, logger: logger)
                    .decode((Int64, [String], [String]).self)
                {
                    outcome.inserted = Int(inserted)
                    outcome.accepted = Set(accepted.compactMap(DeviceID.init))
                    outcome.revoked = Set(revoked.compactMap(DeviceID.init))
                }
                return outcome
            }
        } catch let error as StoreError where error.code == .writeDeadline {
            deadlines?.increment()
            throw error
        }
        if !onConflictDoNothing {
            outcome.inserted = batch.messages.reduce(0) { $0 + (outcome.accepted.contains($1.batch.device) ? $1.rows : 0) }
        }
        return outcome
    }
}
