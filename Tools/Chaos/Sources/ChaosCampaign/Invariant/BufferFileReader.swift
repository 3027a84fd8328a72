import CSQLite

/// Reads an agent's SQLite reading buffer read-only: the buffer id and the drop counter
/// (`meta`), the last seq handed out (`sqlite_sequence`), and the rows still pending.
/// The schema is the agent's `ReadingStore`; this reader never writes.
public struct BufferFileReader: Sendable {
    public init() {}

    public func read(device: String, path: String) -> BufferObservation {
        do {
            return .read(try facts(device: device, path: path))
        } catch {
            return .unreadable(device: device, reason: "\(path): \(error)")
        }
    }

    public func facts(device: String, path: String) throws -> BufferFacts {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        defer { sqlite3_close_v2(handle) }
        guard rc == SQLITE_OK, let handle else {
            throw ChaosError(.bufferUnreadable, "open: \(handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)")")
        }
        sqlite3_busy_timeout(handle, 5_000)
        guard let buffer = try scalar(handle, "SELECT value FROM meta WHERE key = 'buffer_id'") else {
            throw ChaosError(.bufferUnreadable, "no buffer_id in meta")
        }
        return BufferFacts(
            device: device, buffer: buffer,
            lastSeq: try scalar(handle, "SELECT seq FROM sqlite_sequence WHERE name = 'readings'") ?? 0,
            pending: try scalar(handle, "SELECT count(*) FROM readings") ?? 0,
            dropped: try scalar(handle, "SELECT value FROM meta WHERE key = 'dropped'") ?? 0)
    }

    private func scalar(_ handle: OpaquePointer, _ sql: String) throws -> Int64? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ChaosError(.bufferUnreadable, "\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return sqlite3_column_int64(statement, 0)
        case SQLITE_DONE: return nil
        default: throw ChaosError(.bufferUnreadable, "\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
    }
}
