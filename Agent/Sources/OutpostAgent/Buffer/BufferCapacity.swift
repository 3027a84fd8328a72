/// How full the buffer may get, and how many of the oldest readings must go when it is over.
///
/// A reading's size is estimated as its metric name plus ``rowOverheadBytes`` (seq, ts,
/// value and SQLite's per-row cost), so the byte cap tracks the file's growth without
/// asking SQLite for page counts on every commit.
public struct BufferCapacity: Sendable, Equatable {
    /// Estimated bytes per row besides the metric name.
    public static let rowOverheadBytes = 40
    /// The longest metric name the wire accepts, so the largest row estimate.
    public static let maxRowBytes = 64 + rowOverheadBytes

    public var maxRows: Int
    public var maxBytes: Int

    public init(maxRows: Int, maxBytes: Int) {
        self.maxRows = maxRows
        self.maxBytes = maxBytes
    }

    /// The estimated size of one reading with this metric name.
    public static func estimatedBytes(metric: String) -> Int { metric.utf8.count + rowOverheadBytes }

    public func isOver(rows: Int, bytes: Int) -> Bool { rows > maxRows || bytes > maxBytes }

    /// The fewest oldest rows that must go before the buffer can be within both caps:
    /// every row over the row cap, and enough rows of the largest possible size to free
    /// the bytes over the byte cap. Zero when within both; at least one when over, so a
    /// loop that drops and re-checks always ends.
    public func minimumRowsToDrop(rows: Int, bytes: Int) -> Int {
        guard isOver(rows: rows, bytes: bytes) else { return 0 }
        let overRows = max(0, rows - maxRows)
        let overBytes = max(0, bytes - maxBytes)
        let forBytes = (overBytes + Self.maxRowBytes - 1) / Self.maxRowBytes
        return min(rows, max(1, overRows, forBytes))
    }
}
