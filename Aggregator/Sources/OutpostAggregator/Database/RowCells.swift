import PostgresNIO

/// A row's cells decoded one at a time, in column order, each as its own concrete type.
/// postgres-nio's tuple decoding (`rows.decode((A, B, …).self)`, a parameter pack) runs
/// unspecialized and instantiates generic and tuple metadata for every row (a fifth of the
/// decoding of a page of 720 hourly buckets). For the hot per-row loops only.
struct RowCells {
    private var cells: PostgresRow.Iterator

    init(_ row: PostgresRow) {
        cells = row.makeIterator()
    }

    /// The next column's value; throws ``StoreErrorCode/unexpectedRow`` past the last column.
    mutating func next<Value: PostgresDecodable>(_: Value.Type = Value.self, file: String = #fileID, line: Int = #line) throws -> Value {
        guard let cell = cells.next() else {
            throw StoreError(.unexpectedRow, "a row has fewer columns than its statement's reader expects (\(file):\(line))")
        }
        return try cell.decode(Value.self, context: .default, file: file, line: line)
    }
}
