import OutpostWire

/// The batches sent and not yet acknowledged, as a value type (no clock, no network).
///
/// - At most `capacity` batches are outstanding; the publisher sends new ones only while
///   ``hasRoom``.
/// - ``acknowledge(_:)`` subtracts acked seq ranges from every batch, in any order and
///   with overlaps; a batch leaves the window when nothing of it remains unacked.
/// - A batch sent more than `ackTimeoutMs` ago without a full ack is due for re-send;
///   after a reconnect every batch is (``markAllForResend()``).
/// - ``cursor`` is the highest seq ever put in a batch, so new batches start above it.
public struct InflightWindow: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// The seq span of the batch as first sent.
        public var span: SeqRange
        /// What of `span` is not yet acknowledged, sorted and disjoint.
        public var unacked: [SeqRange]
        /// Monotonic ms of the last send; nil means send again now.
        public var sentAtMs: Int64?
        public var sends: Int
    }

    public let capacity: Int
    public let ackTimeoutMs: Int64
    public private(set) var entries: [Entry] = []
    public private(set) var cursor: Int64

    public init(capacity: Int, ackTimeoutMs: Int64, cursor: Int64 = 0) {
        precondition(capacity > 0 && ackTimeoutMs > 0)
        self.capacity = capacity
        self.ackTimeoutMs = ackTimeoutMs
        self.cursor = cursor
    }

    public var hasRoom: Bool { entries.count < capacity }
    public var isEmpty: Bool { entries.isEmpty }

    /// Records a new batch covering `span`, sent at `nowMs`.
    public mutating func recordSent(_ span: SeqRange, nowMs: Int64) {
        entries.append(Entry(span: span, unacked: [span], sentAtMs: nowMs, sends: 1))
        cursor = max(cursor, span.last)
    }

    /// Records that the batch for `span` was sent again at `nowMs`.
    public mutating func recordResent(_ span: SeqRange, nowMs: Int64) {
        guard let index = entries.firstIndex(where: { $0.span == span }) else { return }
        entries[index].sentAtMs = nowMs
        entries[index].sends += 1
    }

    /// Removes acknowledged seqs. - Returns: the spans of the batches that are now fully acked.
    @discardableResult
    public mutating func acknowledge(_ ranges: [SeqRange]) -> [SeqRange] {
        var completed: [SeqRange] = []
        for index in entries.indices {
            entries[index].unacked = Self.subtract(ranges, from: entries[index].unacked)
        }
        entries.removeAll { entry in
            if entry.unacked.isEmpty {
                completed.append(entry.span)
                return true
            }
            return false
        }
        return completed
    }

    /// Forgets a batch whose readings are no longer in the buffer (dropped by the cap).
    public mutating func forget(_ span: SeqRange) {
        entries.removeAll { $0.span == span }
    }

    /// The batches to send again at `nowMs`, oldest first.
    public func dueForResend(nowMs: Int64) -> [Entry] {
        entries.filter { entry in
            guard let sent = entry.sentAtMs else { return true }
            return nowMs - sent >= ackTimeoutMs
        }
    }

    /// After a reconnect nothing sent before is known to have arrived.
    public mutating func markAllForResend() {
        for index in entries.indices { entries[index].sentAtMs = nil }
    }

    /// Every seq still unacked in the window.
    public var unackedCount: Int64 { entries.reduce(0) { $0 + $1.unacked.reduce(0) { $0 + $1.count } } }

    /// `ranges` removed from the sorted disjoint `base`.
    static func subtract(_ ranges: [SeqRange], from base: [SeqRange]) -> [SeqRange] {
        var remaining = base
        for cut in ranges {
            var next: [SeqRange] = []
            next.reserveCapacity(remaining.count + 1)
            for piece in remaining {
                if cut.last < piece.first || cut.first > piece.last {
                    next.append(piece)
                    continue
                }
                if cut.first > piece.first { next.append(SeqRange(piece.first, cut.first - 1)) }
                if cut.last < piece.last { next.append(SeqRange(cut.last + 1, piece.last)) }
            }
            remaining = next
        }
        return remaining
    }
}
