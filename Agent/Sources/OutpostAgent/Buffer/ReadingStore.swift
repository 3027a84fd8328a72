import OutpostWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The SQLite file that holds readings until the centre acknowledges them.
///
/// - `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`: SQLite never hands out a seq twice,
///   even after the newest rows are deleted, and a rolled-back commit rolls the counter back.
/// - The buffer's random 64-bit id, the drop counter and the schema version live in `meta`.
/// - WAL journal; `synchronous` is FULL (durable at power loss) or NORMAL (durable at a
///   process crash) by configuration.
/// - Capped by rows and estimated bytes; when over, the oldest rows go in the same
///   transaction as the insert that overflowed, and the drop counter grows by exactly
///   the number of rows deleted.
///
/// Synchronous and single-threaded: ``ReadingBuffer`` owns it inside an actor.
final class ReadingStore {
    enum Synchronous: String, Codable, Sendable {
        case full
        case normal
    }

    static let schemaVersion: Int64 = 1

    let path: String
    let capacity: BufferCapacity
    private(set) var bufferID: BufferID
    private(set) var rows: Int
    private(set) var bytes: Int
    private(set) var dropped: Int64
    private(set) var lastSeq: Int64

    private let database: SQLiteDatabase
    private let insert: SQLiteStatement
    private let selectAfter: SQLiteStatement
    private let selectRange: SQLiteStatement
    private let measureRange: SQLiteStatement
    private let deleteRange: SQLiteStatement
    private let oldestBatch: SQLiteStatement
    private let oldestTs: SQLiteStatement
    private let sequence: SQLiteStatement
    private let setMeta: SQLiteStatement
    private let freePages: SQLiteStatement

    /// Free pages (4 KiB each by default) past which a delete returns them with `incremental_vacuum`.
    static let vacuumThresholdPages: Int64 = 256

    /// What happened to a damaged file found at start-up.
    struct Recovery: Sendable, Equatable {
        var movedTo: String
        var reason: String
    }

    /// Opens the store. A file that is not a database or fails `PRAGMA quick_check` is
    /// renamed to `<path>.corrupt-<unix time>` (with its -wal and -shm) and a fresh one is
    /// created; `recovery` says so.
    static func open(path: String, capacity: BufferCapacity, synchronous: Synchronous = .full)
        throws(BufferError) -> (store: ReadingStore, recovery: Recovery?)
    {
        do {
            let database = try SQLiteDatabase(path: path)
            try check(database)
            return (try ReadingStore(database: database, capacity: capacity, synchronous: synchronous), nil)
        } catch where error.code == .corrupt {
            let target = "\(path).corrupt-\(WireClock.nowMs() / 1000)"
            for suffix in ["-wal", "-shm", ""] where access(path + suffix, F_OK) == 0 {
                guard rename(path + suffix, target + suffix) == 0 else {
                    throw BufferError(.io, "cannot move damaged \(path + suffix) aside: \(String(cString: strerror(errno)))")
                }
            }
            let database = try SQLiteDatabase(path: path)
            let store = try ReadingStore(database: database, capacity: capacity, synchronous: synchronous)
            return (store, Recovery(movedTo: target, reason: error.context))
        }
    }

    /// Opens an existing file without changing it, for `outpost-agent status`.
    static func openForReading(path: String) throws(BufferError) -> (store: ReadingStore, recovery: Recovery?) {
        guard access(path, R_OK) == 0 else { throw BufferError(.openFailed, "\(path) does not exist or is unreadable") }
        return (try ReadingStore(database: try SQLiteDatabase(path: path, readOnly: true), capacity: BufferCapacity(maxRows: .max, maxBytes: .max),
                                 synchronous: .normal, readOnly: true), nil)
    }

    private static func check(_ database: SQLiteDatabase) throws(BufferError) {
        let statement = try database.prepare("PRAGMA quick_check")
        var problems: [String] = []
        while try statement.step() {
            let line = statement.text(0)
            if line != "ok" { problems.append(line) }
        }
        guard problems.isEmpty else {
            throw BufferError(.corrupt, "integrity check: \(problems.prefix(3).joined(separator: "; "))")
        }
    }

    private init(database: SQLiteDatabase, capacity: BufferCapacity, synchronous: Synchronous, readOnly: Bool = false) throws(BufferError) {
        self.database = database
        self.path = database.path
        self.capacity = capacity
        if !readOnly {
            // Only takes effect on a new file (before its first table): freed pages can then be
            // returned to the file system by `incremental_vacuum` without rewriting the file.
            try database.execute("PRAGMA auto_vacuum=INCREMENTAL")
            try database.execute("PRAGMA journal_mode=WAL")
            try database.execute("PRAGMA synchronous=\(synchronous.rawValue.uppercased())")
        }
        if !readOnly { try database.execute("""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS readings (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                ts INTEGER NOT NULL,
                metric TEXT NOT NULL,
                value REAL NOT NULL);
            """) }
        let getMeta = try database.prepare("SELECT value FROM meta WHERE key = ?")
        setMeta = try database.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        if let existing = try getMeta.bind(.text("buffer_id")).scalar() {
            bufferID = BufferID(signedBitPattern: existing)
        } else if readOnly {
            throw BufferError(.openFailed, "\(path) holds no buffer")
        } else {
            bufferID = BufferID.random()
            try database.execute("BEGIN IMMEDIATE")
            try setMeta.bind(.text("buffer_id"), .integer(bufferID.signedBitPattern)).run()
            try setMeta.bind(.text("schema_version"), .integer(Self.schemaVersion)).run()
            try setMeta.bind(.text("dropped"), .integer(0)).run()
            try database.execute("COMMIT")
        }
        dropped = try getMeta.bind(.text("dropped")).scalar() ?? 0
        insert = try database.prepare("INSERT INTO readings (ts, metric, value) VALUES (?, ?, ?)")
        selectAfter = try database.prepare("SELECT seq, ts, metric, value FROM readings WHERE seq > ? ORDER BY seq LIMIT ?")
        selectRange = try database.prepare("SELECT seq, ts, metric, value FROM readings WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?")
        measureRange = try database.prepare("SELECT COUNT(*), COALESCE(SUM(length(CAST(metric AS BLOB))), 0) FROM readings WHERE seq BETWEEN ? AND ?")
        deleteRange = try database.prepare("DELETE FROM readings WHERE seq BETWEEN ? AND ?")
        oldestBatch = try database.prepare("SELECT seq, length(CAST(metric AS BLOB)) FROM readings ORDER BY seq LIMIT ?")
        oldestTs = try database.prepare("SELECT ts FROM readings ORDER BY seq LIMIT 1")
        sequence = try database.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'readings'")
        freePages = try database.prepare("PRAGMA freelist_count")
        let totals = try database.prepare("SELECT COUNT(*), COALESCE(SUM(length(CAST(metric AS BLOB))), 0) FROM readings")
        _ = try totals.step()
        rows = Int(totals.int64(0))
        bytes = Int(totals.int64(1)) + rows * BufferCapacity.rowOverheadBytes
        lastSeq = try sequence.scalar() ?? 0
    }

    // MARK: Writes

    /// Inserts `samples` in one transaction, then drops the oldest rows while over a cap.
    /// - Returns: how many rows were dropped by this commit.
    @discardableResult
    func append(_ samples: [Sample]) throws(BufferError) -> Int64 {
        guard !samples.isEmpty else { return 0 }
        try database.execute("BEGIN IMMEDIATE")
        var newRows = rows, newBytes = bytes, newDropped = dropped
        do {
            for sample in samples {
                try insert.bind(.integer(sample.ts), .text(sample.metric), .real(sample.value)).run()
                newRows += 1
                newBytes += BufferCapacity.estimatedBytes(metric: sample.metric)
            }
            var droppedNow: Int64 = 0
            while capacity.isOver(rows: newRows, bytes: newBytes) {
                let count = capacity.minimumRowsToDrop(rows: newRows, bytes: newBytes)
                var lastDropped: Int64 = 0
                var freed = 0, counted = 0
                oldestBatch.bind(.integer(Int64(count)))
                while try oldestBatch.step() {
                    lastDropped = oldestBatch.int64(0)
                    freed += Int(oldestBatch.int64(1)) + BufferCapacity.rowOverheadBytes
                    counted += 1
                }
                guard counted > 0 else { break }
                try deleteRange.bind(.integer(0), .integer(lastDropped)).run()
                newRows -= counted
                newBytes -= freed
                droppedNow += Int64(counted)
            }
            if droppedNow > 0 {
                newDropped += droppedNow
                try setMeta.bind(.text("dropped"), .integer(newDropped)).run()
            }
            let seq = try sequence.scalar() ?? lastSeq
            try database.execute("COMMIT")
            rows = newRows
            bytes = newBytes
            lastSeq = seq
            let delta = newDropped - dropped
            dropped = newDropped
            return delta
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    /// Deletes exactly the rows in `ranges` that are still here.
    /// - Returns: how many rows were deleted.
    @discardableResult
    func delete(_ ranges: [SeqRange]) throws(BufferError) -> Int {
        guard !ranges.isEmpty else { return 0 }
        try database.execute("BEGIN IMMEDIATE")
        var deletedRows = 0, deletedBytes = 0
        do {
            for range in ranges {
                measureRange.bind(.integer(range.first), .integer(range.last))
                _ = try measureRange.step()
                let count = Int(measureRange.int64(0))
                let metricBytes = Int(measureRange.int64(1))
                measureRange.reset()
                guard count > 0 else { continue }
                try deleteRange.bind(.integer(range.first), .integer(range.last)).run()
                deletedRows += count
                deletedBytes += metricBytes + count * BufferCapacity.rowOverheadBytes
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
        rows -= deletedRows
        bytes -= deletedBytes
        if deletedRows > 0, try freePageCount() > Self.vacuumThresholdPages {
            try database.execute("PRAGMA incremental_vacuum")
        }
        return deletedRows
    }

    /// Pages on the file's free list.
    func freePageCount() throws(BufferError) -> Int64 {
        try freePages.scalar() ?? 0
    }

    /// Removes damaged files `open` moved aside (`<path>.corrupt-<unix time>` and their -wal and
    /// -shm) more than `age` before `now` (Unix seconds).
    /// - Returns: the paths removed.
    static func removeCorruptFiles(of path: String, olderThan age: Duration, now: Int64) -> [String] {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let prefix = String(slash.map { path[path.index(after: $0)...] } ?? path[...]) + ".corrupt-"
        guard let listing = opendir(directory) else { return [] }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        closedir(listing)
        var removed: [String] = []
        for name in names.sorted() {
            var stamp = name.dropFirst(prefix.count)
            for suffix in ["-wal", "-shm"] where stamp.hasSuffix(suffix) { stamp = stamp.dropLast(suffix.count) }
            guard let movedAt = Int64(stamp), now - movedAt > age.components.seconds else { continue }
            let file = directory == "/" ? "/" + name : directory + "/" + name
            if unlink(file) == 0 { removed.append(file) }
        }
        return removed
    }

    // MARK: Reads

    /// The oldest readings with seq above `seq`, at most `limit`.
    func readings(after seq: Int64, limit: Int) throws(BufferError) -> [Reading] {
        try collect(selectAfter.bind(.integer(seq), .integer(Int64(limit))))
    }

    /// The readings still here within `range`, at most `limit`.
    func readings(in range: SeqRange, limit: Int) throws(BufferError) -> [Reading] {
        try collect(selectRange.bind(.integer(range.first), .integer(range.last), .integer(Int64(limit))))
    }

    private func collect(_ statement: SQLiteStatement) throws(BufferError) -> [Reading] {
        var result: [Reading] = []
        while try statement.step() {
            result.append(Reading(seq: statement.int64(0), ts: statement.int64(1), metric: statement.text(2), value: statement.double(3)))
        }
        return result
    }

    func stats() throws(BufferError) -> BufferStats {
        BufferStats(buffer: bufferID, depth: rows, bytes: bytes, oldestTs: try oldestTs.scalar(), dropped: dropped, lastSeq: lastSeq)
    }

    /// Copies the WAL into the main file; called at shutdown so the file stands alone.
    func checkpoint() {
        try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}
