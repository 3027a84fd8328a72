import Logging
import OutpostCommon
import PostgresNIO

/// Writes a batch of readings in one round trip: one statement, committed on its own.
///
/// The statement unnests column arrays (no per-row statements), keeps only readings of
/// devices that exist and are not revoked, inserts with `ON CONFLICT DO NOTHING` on the
/// readings key (re-deliveries insert nothing), and reports how many rows were new and
/// which devices were refused, so their messages can be counted and left unacked.
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

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func write(_ batch: IngestBatch) async throws -> Outcome {
        let columns = batch.columns
        let devices = batch.devices.map(\.rawValue)
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
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM inserted),
                   coalesce((SELECT array_agg(id) FROM known WHERE active), '{}'::text[]),
                   coalesce((SELECT array_agg(id) FROM known WHERE NOT active), '{}'::text[])
            """
        var outcome = Outcome(inserted: 0, accepted: [], revoked: [])
        for try await (inserted, accepted, revoked) in try await client.query(query, logger: logger)
            .decode((Int64, [String], [String]).self)
        {
            outcome.inserted = Int(inserted)
            outcome.accepted = Set(accepted.compactMap(DeviceID.init))
            outcome.revoked = Set(revoked.compactMap(DeviceID.init))
        }
        return outcome
    }
}
