import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Reads of the `readings` table (`device, buffer, seq, ts, metric, value`) for the admin API,
/// from the read replica while it is fresh enough (``ReadReplica``): readings are written
/// only by ingest, so no API caller reads its own writes here.
extension ReadingsStore {
    struct RawReading: Codable, Sendable, Equatable {
        let ts: Date
        let value: Double
    }

    struct Aggregate: Codable, Sendable, Equatable {
        let start: Date
        let avg: Double
        let min: Double
        let max: Double
        let count: Int64
    }

    struct Latest: Codable, Sendable, Equatable {
        let device: String
        let metric: String
        let ts: Date
        let value: Double
    }

    /// The pool for the next query: the replica's when configured and fresh, else the primary's.
    var client: PostgresPool { replica?.reader ?? primary }

    func hasMetric(device: String, metric: String) async throws -> Bool {
        let rows = try await client.query(
            "SELECT EXISTS (SELECT 1 FROM readings WHERE device = \(device) AND metric = \(metric))", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Up to `limit` raw readings and the cursor for the next page.
    func raw(device: String, _ query: ReadingsQuery) async throws -> ([RawReading], String?) {
        let after = query.rawAfter
        let rows = try await client.query(
            """
            SELECT ts, value, (extract(epoch FROM ts) * 1000000)::bigint, buffer, seq FROM readings
            WHERE device = \(device) AND metric = \(query.metric)
              AND ts >= \(PostgresTimestamp(query.from)) AND ts < \(PostgresTimestamp(query.to))
              AND (\(after?.t)::bigint IS NULL
                   OR (ts, buffer, seq) > ('epoch'::timestamptz + \(after?.t)::bigint * interval '1 microsecond', \(after?.b)::bigint, \(after?.s)::bigint))
            ORDER BY ts, buffer, seq LIMIT \(query.limit + 1)
            """, logger: logger)
        var readings: [RawReading] = []
        var last: ReadingsQuery.RawPosition?
        var more = false
        for try await row in rows {
            if readings.count == query.limit {
                more = true
                break
            }
            var cells = RowCells(row)
            readings.append(RawReading(ts: try cells.next(), value: try cells.next()))
            last = .init(t: try cells.next(), b: try cells.next(), s: try cells.next())
        }
        return (readings, more ? last.map { Cursor.encode($0) } : nil)
    }

    /// Buckets of `query.bucket` aligned to the epoch (UTC). One page covers at most
    /// `limit` bucket widths, so a page's work is bounded however long the range is.
    /// 1 h and 1 d buckets read the whole hours of the page from `reading_hours`
    /// (migration 0170) and only the partial hours at its ends from `readings`.
    func buckets(device: String, _ query: ReadingsQuery) async throws -> ([Aggregate], String?) {
        let width = query.bucket.seconds! * 1_000_000
        let rangeStart = ReadingsQuery.microseconds(query.from)
        let rangeEnd = ReadingsQuery.microseconds(query.to)
        let alignedStart = Self.floor(rangeStart, to: width)
        let pageStart = max(query.bucketFrom ?? alignedStart, alignedStart)
        let pageEnd = min(rangeEnd, pageStart + Int64(query.limit) * width)
        guard pageStart < rangeEnd else { return ([], nil) }
        let lower = max(pageStart, rangeStart)
        let hours = Self.wholeHours(from: lower, to: pageEnd)
        let client = self.client
        let hasWholeHours = width % Self.hour == 0 && hours.lowerBound < hours.upperBound
        let rolledUp = hasWholeHours ? try await rollupComplete(on: client) : false
        let rows = try await client.query(
            rolledUp
                ? Self.rolledUpBuckets(device: device, metric: query.metric, width: width, from: lower, to: pageEnd, hours: hours)
                : Self.rawBuckets(device: device, metric: query.metric, width: width, from: lower, to: pageEnd),
            logger: logger)
        var aggregates: [Aggregate] = []
        for try await row in rows {
            var cells = RowCells(row)
            let start = try cells.next(Int64.self)
            aggregates.append(Aggregate(start: Date(timeIntervalSince1970: Double(start) / 1_000_000), avg: try cells.next(), min: try cells.next(),
                                        max: try cells.next(), count: try cells.next()))
        }
        return (aggregates, pageEnd < rangeEnd ? String(pageEnd) : nil)
    }

    /// Whether migration 0170's backfill is done (`reading_hours_pending` empty): asked of the
    /// database until it is, then known for good, since nothing adds to that list once it is
    /// empty (only the migration and a new partition taking rows from a pending default
    /// partition do).
    func rollupComplete(on client: PostgresPool) async throws -> Bool {
        if rollup.isComplete { return true }
        let rows = try await client.query("SELECT NOT EXISTS (SELECT 1 FROM reading_hours_pending)", logger: logger)
        for try await complete in rows.decode(Bool.self) where complete {
            rollup.markComplete()
            return true
        }
        return false
    }

    /// An hour in microseconds.
    static let hour: Int64 = 3_600_000_000

    /// The whole UTC hours inside `[from, to)` (µs since the epoch); empty when there is none.
    static func wholeHours(from: Int64, to: Int64) -> Range<Int64> {
        let first = -floor(-from, to: hour)
        return first..<max(first, floor(to, to: hour))
    }

    /// Buckets of `width` µs over `[from, to)`, every reading read.
    static func rawBuckets(device: String, metric: String, width: Int64, from: Int64, to: Int64) -> PostgresQuery {
        """
        SELECT (extract(epoch FROM date_bin(\(width)::bigint * interval '1 microsecond', ts, 'epoch'::timestamptz)) * 1000000)::bigint AS start,
               avg(value), min(value), max(value), count(*)
        FROM readings
        WHERE device = \(device) AND metric = \(metric)
          AND ts >= \(PostgresTimestamp(microseconds: from)) AND ts < \(PostgresTimestamp(microseconds: to))
        GROUP BY 1 ORDER BY 1
        """
    }

    /// Buckets of `width` µs (whole hours) over `[from, to)`: the rollup's rows for `hours`,
    /// the readings for the rest. The average is the sum over the count, as `avg` computes it,
    /// with the additions in another order (so it may differ from `rawBuckets` in the last bits).
    /// Only once the rollup is complete (``rollupComplete(on:)``): a gate inside the statement
    /// (an EXISTS per arm) would still have every partition of the range planned.
    static func rolledUpBuckets(device: String, metric: String, width: Int64, from: Int64, to: Int64, hours: Range<Int64>) -> PostgresQuery {
        """
        SELECT (extract(epoch FROM start) * 1000000)::bigint, sum(s) / sum(n)::float8, min(lo), max(hi), sum(n)::bigint
        FROM (
            SELECT date_bin(\(width)::bigint * interval '1 microsecond', hour, 'epoch'::timestamptz) AS start,
                   count AS n, sum AS s, min AS lo, max AS hi
            FROM reading_hours
            WHERE device = \(device) AND metric = \(metric)
              AND hour >= \(PostgresTimestamp(microseconds: hours.lowerBound)) AND hour < \(PostgresTimestamp(microseconds: hours.upperBound))
            UNION ALL
            SELECT date_bin(\(width)::bigint * interval '1 microsecond', ts, 'epoch'::timestamptz), 1, value, value, value
            FROM readings
            WHERE device = \(device) AND metric = \(metric)
              AND (ts >= \(PostgresTimestamp(microseconds: from)) AND ts < \(PostgresTimestamp(microseconds: hours.lowerBound))
                   OR ts >= \(PostgresTimestamp(microseconds: hours.upperBound)) AND ts < \(PostgresTimestamp(microseconds: to)))
        ) parts
        GROUP BY start ORDER BY start
        """
    }

    /// The newest reading of each metric of one device, found through the
    /// (device, metric, ts) index one metric at a time rather than by scanning the device.
    func latest(device: String) async throws -> [Latest] {
        let rows = try await client.query(
            """
            WITH RECURSIVE metrics AS (
                (SELECT metric FROM readings WHERE device = \(device) ORDER BY metric LIMIT 1)
                UNION ALL
                SELECT (SELECT r.metric FROM readings r WHERE r.device = \(device) AND r.metric > m.metric ORDER BY r.metric LIMIT 1)
                FROM metrics m WHERE m.metric IS NOT NULL
            )
            SELECT m.metric, l.ts, l.value FROM metrics m
            CROSS JOIN LATERAL (
                SELECT ts, value FROM readings WHERE device = \(device) AND metric = m.metric ORDER BY ts DESC LIMIT 1) l
            WHERE m.metric IS NOT NULL ORDER BY m.metric
            """, logger: logger)
        var latest: [Latest] = []
        for try await (metric, ts, value) in rows.decode((String, Date, Double).self) {
            latest.append(Latest(device: device, metric: metric, ts: ts, value: value))
        }
        return latest
    }

    /// Streams one device's readings in `[from, to)` as CSV or NDJSON, in chunks of about
    /// 64 KiB. postgres-nio's row stream is back-pressured, so memory stays flat however
    /// many rows there are.
    func export(device: String, metric: String?, from: Date, to: Date, format: ExportFormat, writer: inout any ResponseBodyWriter)
        async throws
    {
        let rows = try await client.query(
            """
            SELECT ts, metric, value, buffer, seq FROM readings
            WHERE device = \(device) AND (\(metric)::text IS NULL OR metric = \(metric)::text)
              AND ts >= \(PostgresTimestamp(from)) AND ts < \(PostgresTimestamp(to))
            ORDER BY ts, metric, buffer, seq
            """, logger: logger)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(80 * 1024)
        if format == .csv { buffer.writeString("ts,device,metric,value,buffer,seq\n") }
        for try await row in rows {
            var cells = RowCells(row)
            let ts = try cells.next(Date.self), rowMetric = try cells.next(String.self), value = try cells.next(Double.self)
            let bufferID = try cells.next(Int64.self), seq = try cells.next(Int64.self)
            let time = APIJSON.timestamp(ts)
            switch format {
            case .csv:
                buffer.writeString("\(time),\(device),\(rowMetric),\(value),\(bufferID),\(seq)\n")
            case .ndjson:
                buffer.writeString(#"{"ts":"\#(time)","device":"\#(device)","metric":"\#(rowMetric)","value":\#(value.isFinite ? "\(value)" : "null"),"buffer":\#(bufferID),"seq":\#(seq)}"#)
                buffer.writeString("\n")
            }
            if buffer.readableBytes >= 64 * 1024 {
                try await writer.write(buffer)
                buffer.clear()
            }
        }
        if buffer.readableBytes > 0 { try await writer.write(buffer) }
    }

    enum ExportFormat: String, Sendable { case csv, ndjson }

    static func floor(_ value: Int64, to width: Int64) -> Int64 {
        let remainder = value % width
        return remainder >= 0 ? value - remainder : value - remainder - width
    }
}
