import Logging
import OutpostWire
import PostgresNIO
import Prometheus

/// The `readings` table. Ingest writes a batch of readings in one round trip on the primary:
/// one statement, committed on its own; the admin API reads (`ReadingsStore+Reads.swift`).
///
/// The statement calls `outpost_store_readings` (migration 0120) with column arrays (no
/// per-row statements): it keeps only readings of devices that exist and are not revoked,
/// stores each `(device, buffer, seq)` once whatever its `ts`, and reports how many rows were
/// new, how many repeated a stored key with another `ts`, metric or value, and which devices
/// were refused, so their messages can be counted and left unacked.
public struct ReadingsStore: Sendable {
    /// What one write did.
    public struct Outcome: Sendable, Equatable {
        /// Readings inserted; the rest of the accepted ones were already stored.
        public var inserted: Int
        /// Readings of accepted devices not inserted because their `(device, buffer, seq)` was
        /// already stored (or earlier in the batch) with another `ts`, metric or value.
        public var conflicting: Int
        /// The devices that sent them.
        public var conflictingDevices: Set<DeviceID>
        /// Devices whose readings were accepted.
        public var accepted: Set<DeviceID>
        /// Devices with a row but `revoked_at` set.
        public var revoked: Set<DeviceID>
    }

    /// The pool writes go to, and reads when there is no fresh replica.
    let primary: PostgresPool
    let replica: ReadReplica?
    let logger: Logger
    let conflictFallbacks: Counter?
    let deadlines: Counter?
    /// Bounds each write, lease included (``WriteDeadline``).
    let deadline: WriteDeadline
    /// Whether `reading_hours` holds every stored reading (``RollupCompletion``).
    let rollup = RollupCompletion()

    public init(primary: PostgresPool, replica: ReadReplica? = nil, logger: Logger, metrics: AggregatorMetrics? = nil,
                deadline: Duration = .seconds(30)) {
        self.primary = primary
        self.replica = replica
        self.logger = logger
        self.conflictFallbacks = metrics?.conflictFallbacks
        self.deadlines = metrics?.writeDeadlines
        self.deadline = WriteDeadline(deadline)
    }

    /// Writes `batch`. Readings above their buffer's high-water mark are inserted without a
    /// conflict check, the common case; those at or below it are looked up first. A reading
    /// above the mark that is stored already (written outside ingest, e.g. by a restore that
    /// left the marks behind) fails the statement whole with a unique violation, and nothing
    /// of it stays; it is then written again looking up every reading.
    ///
    /// A re-delivered batch whose readings are all stored still raises (rewrites) its marks, so
    /// its commit waits for a synchronous standby before the ack, as a first delivery's does: a
    /// write whose connection was closed while its commit waited for the standby may have left
    /// its rows on the primary only, and the re-delivery must not ack them before the standby has them.
    ///
    /// - Throws: ``StoreError`` ``StoreError/Code/writeDeadline`` when a write takes longer than
    ///   its deadline (its connection is closed; retrying is safe); PostgreSQL's errors otherwise.
    public func write(_ batch: IngestBatch) async throws -> Outcome {
        let plan = batch.writePlan
        do {
            return try await write(plan, checkAll: false)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            conflictFallbacks?.increment()
            return try await write(plan, checkAll: true)
        }
    }

    static let uniqueViolation = "23505"

    /// The statement that stores `plan`: one call of `outpost_store_readings`.
    static func statement(_ plan: IngestBatch.WritePlan, checkAll: Bool) -> PostgresQuery {
        let columns = plan.columns
        let marks = plan.marks
        return """
            SELECT inserted, conflicting, conflicting_devices, accepted, revoked FROM outpost_store_readings(
                \(columns.devices)::text[], \(columns.buffers)::int8[], \(columns.seqs)::int8[],
                \(columns.timestamps)::int8[], \(columns.metrics)::text[], \(columns.values)::float8[],
                \(marks.devices)::text[], \(marks.buffers)::int8[], \(marks.lows)::int8[], \(marks.highs)::int8[], \(checkAll))
            """
    }

    func write(_ plan: IngestBatch.WritePlan, checkAll: Bool) async throws -> Outcome {
        let query = Self.statement(plan, checkAll: checkAll)
        let logger = logger
        var outcome: Outcome
        do {
            outcome = try await deadline.run(primary) { connection in
                var outcome = Outcome(inserted: 0, conflicting: 0, conflictingDevices: [], accepted: [], revoked: [])
                for try await (inserted, conflicting, devices, accepted, revoked) in try await connection.query(query, logger: logger)
                    .decode((Int64, Int64, [String], [String], [String]).self)
                {
                    outcome.inserted = Int(inserted)
                    outcome.conflicting = Int(conflicting)
                    outcome.conflictingDevices = Set(devices.compactMap(DeviceID.init))
                    outcome.accepted = Set(accepted.compactMap(DeviceID.init))
                    outcome.revoked = Set(revoked.compactMap(DeviceID.init))
                }
                return outcome
            }
        } catch let error as StoreError where error.code == .writeDeadline {
            deadlines?.increment()
            throw error
        }
        for (device, repeats) in plan.conflictingRepeats where outcome.accepted.contains(device) {
            outcome.conflicting += repeats
            outcome.conflictingDevices.insert(device)
        }
        return outcome
    }
}
