/// An inclusive range of seq numbers, `[first, last]` on the wire.
public struct SeqRange: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var first: Int64
    public var last: Int64

    public init(_ first: Int64, _ last: Int64) {
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }

    public func contains(_ seq: Int64) -> Bool { seq >= first && seq <= last }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }

    public static func < (lhs: SeqRange, rhs: SeqRange) -> Bool {
        (lhs.first, lhs.last) < (rhs.first, rhs.last)
    }

    /// Coalesces seq numbers, in any order and with duplicates, into sorted disjoint ranges.
    public static func ranges<S: Sequence>(covering seqs: S) -> [SeqRange] where S.Element == Int64 {
        var result: [SeqRange] = []
        for seq in seqs.sorted() {
            if let last = result.last, seq <= last.last + 1 {
                result[result.count - 1].last = max(last.last, seq)
            } else {
                result.append(SeqRange(seq, seq))
            }
        }
        return result
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        first = try container.decode(Int64.self)
        last = try container.decode(Int64.self)
        guard container.isAtEnd else {
            throw WireError(.invalidRange, "a range is exactly [first, last]").decoding(at: decoder)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(first)
        try container.encode(last)
    }
}
