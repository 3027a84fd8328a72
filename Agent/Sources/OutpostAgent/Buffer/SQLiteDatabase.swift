import CSQLite

/// A thin wrapper over one SQLite connection: open, execute, prepare.
///
/// Not thread-safe by itself; ``ReadingStore`` owns one and is used from one actor.
final class SQLiteDatabase {
    let handle: OpaquePointer
    let path: String

    /// Opens (or creates, when `readOnly` is false) the database file.
    init(path: String, readOnly: Bool = false) throws(BufferError) {
        var pointer: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &pointer, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let pointer { sqlite3_close_v2(pointer) }
            throw BufferError(rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? .corrupt : .openFailed, "open \(path): \(message)")
        }
        handle = pointer
        self.path = path
        sqlite3_busy_timeout(pointer, 5_000)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows the caller needs.
    func execute(_ sql: String) throws(BufferError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? "code \(rc)"
            sqlite3_free(errorMessage)
            throw BufferError(Self.code(for: rc), "\(sql.prefix(60)): \(message)")
        }
    }

    func prepare(_ sql: String) throws(BufferError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw BufferError(Self.code(for: rc), "prepare \(sql.prefix(60)): \(String(cString: sqlite3_errmsg(handle)))")
        }
        return SQLiteStatement(statement, database: self)
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    static func code(for rc: Int32) -> BufferError.Code {
        switch rc & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
        case SQLITE_FULL: .diskFull
        case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY: .io
        default: .sqlite
        }
    }
}

/// A prepared statement; reset before each use, finalized on deinit.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Resets and binds `values` to parameters 1...n.
    @discardableResult
    func bind(_ values: SQLiteValue...) -> SQLiteStatement {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let integer): sqlite3_bind_int64(statement, index, integer)
            case .real(let real): sqlite3_bind_double(statement, index, real)
            case .text(let text):
                var copy = text
                copy.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { chars in
                        _ = outpost_sqlite3_bind_text_transient(statement, index, chars.baseAddress, Int32(chars.count))
                    }
                }
            }
        }
        return self
    }

    /// Steps once: true when a row is available.
    func step() throws(BufferError) -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = database.lastErrorMessage
            sqlite3_reset(statement)
            throw BufferError(SQLiteDatabase.code(for: rc), "step: \(message)")
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(BufferError) {
        while try step() {}
        sqlite3_reset(statement)
    }

    func reset() { sqlite3_reset(statement) }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }

    /// The first column of the first row as an integer, or nil when there is no row or it is NULL.
    func scalar() throws(BufferError) -> Int64? {
        defer { sqlite3_reset(statement) }
        guard try step(), !isNull(0) else { return nil }
        return int64(0)
    }
}

enum SQLiteValue {
    case integer(Int64)
    case real(Double)
    case text(String)
}
