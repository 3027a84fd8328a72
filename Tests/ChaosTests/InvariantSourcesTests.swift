import Foundation
import OutpostWire
import Testing
import TestHarness
@testable import ChaosCampaign
@testable import OutpostAgent

/// The checker's inputs read from the real things: a buffer file the agent's own
/// `ReadingStore` wrote, and PostgreSQL's `readings` table made by the real migration.
@Suite("Invariant inputs from real files and PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct InvariantSourcesTests {
    @Test("the reader sees the agent buffer's id, last seq, pending rows and drops")
    func bufferFile() throws {
        let directory = try TemporaryDirectory(prefix: "chaos-buffer")
        defer { directory.remove() }
        let path = directory.file("buffer.db")
        let samples = (0..<10).map { Sample(ts: 1_700_000_000_000 + Int64($0), metric: "power_w", value: Double($0)) }
        let bufferID: BufferID
        do {
            let (store, _) = try ReadingStore.open(path: path, capacity: BufferCapacity(maxRows: 8, maxBytes: 1 << 20))
            try store.append(samples)            // seqs 1...10; the cap of 8 drops the oldest 2
            try store.delete([SeqRange(3, 7)])   // acknowledged
            bufferID = store.bufferID
            store.checkpoint()
        }
        let facts = try BufferFileReader().facts(device: "meter-1", path: path)
        #expect(facts == BufferFacts(device: "meter-1", buffer: bufferID.signedBitPattern, lastSeq: 10, pending: 3, dropped: 2))
        guard case .unreadable(_, let reason) = BufferFileReader().read(device: "meter-2", path: directory.file("absent.db")) else {
            Issue.record("a missing file must be unreadable")
            return
        }
        #expect(reason.contains("absent.db"))
    }

    @Test("the stored-counts query counts rows, distinct seqs and the captured range per (device, buffer)")
    func storedCounts() async throws {
        let directory = try TemporaryDirectory(prefix: "chaos-pg")
        defer { directory.remove() }
        let postgres = try await PostgresServer(directory: directory.path)
        do {
            try await checkStoredCounts(postgres)
        } catch {
            await postgres.stop()
            throw error
        }
        await postgres.stop()
    }

    private func checkStoredCounts(_ postgres: PostgresServer) async throws {
        let migration = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Aggregator/Migrations/0010_readings.sql")
        try await postgres.psql(try String(contentsOf: migration, encoding: .utf8))
        // meter-1, buffer 7: seqs 1...5 once, seq 3 again at another ts, and seq 9 beyond its last seq (8).
        // meter-1, buffer 8: two rows of an old buffer. meter-2, buffer -1: seqs 1...4, complete.
        try await postgres.psql("""
            INSERT INTO readings (device, buffer, seq, ts, metric, value)
            SELECT 'meter-1', 7, s, to_timestamp(1700000000 + s), 'power_w', s FROM generate_series(1, 5) s;
            INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES
                ('meter-1', 7, 3, to_timestamp(1700009999), 'power_w', 3),
                ('meter-1', 7, 9, to_timestamp(1700000009), 'power_w', 9),
                ('meter-1', 8, 1, to_timestamp(1700000001), 'power_w', 1),
                ('meter-1', 8, 2, to_timestamp(1700000002), 'power_w', 2);
            INSERT INTO readings (device, buffer, seq, ts, metric, value)
            SELECT 'meter-2', -1, s, to_timestamp(1700000000 + s), 'power_w', s FROM generate_series(1, 4) s;
            """)
        let facts = [BufferFacts(device: "meter-1", buffer: 7, lastSeq: 8, pending: 0, dropped: 0),
                     BufferFacts(device: "meter-2", buffer: -1, lastSeq: 4, pending: 0, dropped: 0)]
        let counts = try StoredCountsQuery.parse(try await postgres.psql(try StoredCountsQuery(facts: facts).sql()))
        #expect(counts == [
            StoredCounts(device: "meter-1", buffer: 7, rows: 7, distinctSeqs: 6, minSeq: 1, maxSeq: 9, distinctInCapturedRange: 5),
            StoredCounts(device: "meter-1", buffer: 8, rows: 2, distinctSeqs: 2, minSeq: 1, maxSeq: 2, distinctInCapturedRange: 0),
            StoredCounts(device: "meter-2", buffer: -1, rows: 4, distinctSeqs: 4, minSeq: 1, maxSeq: 4, distinctInCapturedRange: 4),
        ])
        let verdicts = InvariantChecker().verdicts(observations: facts.map { .read($0) }, stored: counts)
        #expect(verdicts[0].codes == [.missing, .duplicate, .unexpectedSeq, .foreignBuffer])
        #expect(verdicts[0].missing == 3 && verdicts[0].duplicates == 1 && verdicts[0].unexpected == 3)
        #expect(verdicts[1].passed)
        #expect(throws: ChaosError(.invalidDevice, "")) {
            try StoredCountsQuery(facts: [BufferFacts(device: "x'; DROP TABLE readings; --", buffer: 1, lastSeq: 1, pending: 0, dropped: 0)]).sql()
        }
        #expect(try StoredCountsQuery.parse(try await postgres.psql(try StoredCountsQuery(facts: []).sql())).count == 3)
    }
}
