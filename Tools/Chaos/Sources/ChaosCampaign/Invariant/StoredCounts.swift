/// What PostgreSQL holds for one `(device, buffer)`.
public struct StoredCounts: Sendable, Equatable {
    public var device: String
    public var buffer: Int64
    public var rows: Int64
    public var distinctSeqs: Int64
    public var minSeq: Int64
    public var maxSeq: Int64
    /// Distinct seqs within 1...lastSeq of the device's current buffer (0 for any other buffer).
    public var distinctInCapturedRange: Int64

    public init(device: String, buffer: Int64, rows: Int64, distinctSeqs: Int64, minSeq: Int64, maxSeq: Int64,
                distinctInCapturedRange: Int64) {
        self.device = device
        self.buffer = buffer
        self.rows = rows
        self.distinctSeqs = distinctSeqs
        self.minSeq = minSeq
        self.maxSeq = maxSeq
        self.distinctInCapturedRange = distinctInCapturedRange
    }

    /// Counts for a buffer without a single stored row.
    public static func none(device: String, buffer: Int64) -> StoredCounts {
        StoredCounts(device: device, buffer: buffer, rows: 0, distinctSeqs: 0, minSeq: 0, maxSeq: 0, distinctInCapturedRange: 0)
    }
}
