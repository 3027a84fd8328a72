import OutpostWire

/// The SQL that counts, per `(device, buffer)`, what PostgreSQL's `readings` holds, and
/// the parser of its `psql -At` output. One query for the whole fleet: the devices'
/// buffer ids and last seqs travel in a `VALUES` list, so the in-range count is exact.
public struct StoredCountsQuery: Sendable {
    public let facts: [BufferFacts]

    public init(facts: [BufferFacts]) { self.facts = facts }

    /// The query. Device ids are checked against the device-id grammar before they are
    /// inlined (so they cannot carry a quote); buffers and seqs are integers.
    public func sql() throws -> String {
        let rows = try facts.map { fact -> String in
            guard DeviceID(fact.device) != nil else { throw ChaosError(.invalidDevice, "\(fact.device.prefix(64)) is not a device id") }
            return "('\(fact.device)', \(fact.buffer)::bigint, \(fact.lastSeq)::bigint)"
        }
        let expected = rows.isEmpty
            ? "SELECT NULL::text AS device, NULL::bigint AS buffer, NULL::bigint AS last_seq WHERE false"
            : "SELECT * FROM (VALUES \(rows.joined(separator: ", "))) AS v(device, buffer, last_seq)"
        return """
            WITH expected AS (\(expected))
            SELECT r.device, r.buffer, count(*), count(DISTINCT r.seq), min(r.seq), max(r.seq),
                   count(DISTINCT r.seq) FILTER (WHERE r.seq BETWEEN 1 AND coalesce(e.last_seq, 0))
            FROM readings r LEFT JOIN expected e ON e.device = r.device AND e.buffer = r.buffer
            GROUP BY r.device, r.buffer, e.last_seq
            ORDER BY r.device, r.buffer
            """
    }

    /// Parses `psql -At` output: one `device|buffer|rows|distinct|min|max|in_range` line per group.
    public static func parse(_ output: String) throws -> [StoredCounts] {
        try output.split(separator: "\n").map { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7, let buffer = Int64(fields[1]), let rows = Int64(fields[2]), let distinct = Int64(fields[3]),
                  let minSeq = Int64(fields[4]), let maxSeq = Int64(fields[5]), let inRange = Int64(fields[6])
            else { throw ChaosError(.unexpectedOutput, "cannot read stored counts from \(line.prefix(200))") }
            return StoredCounts(device: fields[0], buffer: buffer, rows: rows, distinctSeqs: distinct, minSeq: minSeq, maxSeq: maxSeq,
                                distinctInCapturedRange: inRange)
        }
    }
}
