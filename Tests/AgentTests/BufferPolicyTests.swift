import Testing
@testable import OutpostAgent
@testable import OutpostWire

/// The buffer and publishing policies as pure values: no disk, no network, no clock.
@Suite("Buffer policy (pure)")
struct BufferPolicyTests {
    @Test("capacity: within both caps drops nothing; over the row cap drops exactly the excess")
    func capacityRows() {
        let capacity = BufferCapacity(maxRows: 100, maxBytes: 1 << 30)
        #expect(capacity.minimumRowsToDrop(rows: 100, bytes: 5_000) == 0)
        #expect(capacity.minimumRowsToDrop(rows: 101, bytes: 5_000) == 1)
        #expect(capacity.minimumRowsToDrop(rows: 350, bytes: 5_000) == 250)
    }

    @Test("capacity: over the byte cap drops enough largest-size rows, at least one, never more than there are")
    func capacityBytes() {
        let capacity = BufferCapacity(maxRows: 1_000_000, maxBytes: 10_000)
        #expect(capacity.minimumRowsToDrop(rows: 10, bytes: 10_001) == 1)
        #expect(capacity.minimumRowsToDrop(rows: 500, bytes: 10_000 + 10 * BufferCapacity.maxRowBytes) == 10)
        #expect(capacity.minimumRowsToDrop(rows: 3, bytes: 1_000_000) == 3)
        #expect(BufferCapacity.estimatedBytes(metric: "power_w") == 7 + BufferCapacity.rowOverheadBytes)
    }

    @Test("window: capacity bounds outstanding batches; cursor follows the highest seq sent")
    func windowCapacity() {
        var window = InflightWindow(capacity: 2, ackTimeoutMs: 1_000)
        #expect(window.hasRoom && window.cursor == 0)
        window.recordSent(SeqRange(1, 10), nowMs: 0)
        window.recordSent(SeqRange(11, 20), nowMs: 0)
        #expect(!window.hasRoom)
        #expect(window.cursor == 20)
        #expect(window.unackedCount == 20)
    }

    @Test("window: acks in any order, overlapping and partial, complete batches exactly when fully covered")
    func windowAckRanges() {
        var window = InflightWindow(capacity: 8, ackTimeoutMs: 1_000)
        window.recordSent(SeqRange(1, 10), nowMs: 0)
        window.recordSent(SeqRange(11, 20), nowMs: 0)
        window.recordSent(SeqRange(21, 30), nowMs: 0)
        #expect(window.acknowledge([SeqRange(15, 25)]) == [])
        #expect(window.entries.map(\.unacked) == [[SeqRange(1, 10)], [SeqRange(11, 14)], [SeqRange(26, 30)]])
        #expect(window.acknowledge([SeqRange(26, 30), SeqRange(1, 3), SeqRange(5, 10)]) == [SeqRange(21, 30)])
        #expect(window.entries.map(\.unacked) == [[SeqRange(4, 4)], [SeqRange(11, 14)]])
        #expect(window.acknowledge([SeqRange(4, 4), SeqRange(4, 4)]) == [SeqRange(1, 10)])
        #expect(window.acknowledge([SeqRange(100, 200)]) == [])
        #expect(window.acknowledge([SeqRange(1, 1_000)]) == [SeqRange(11, 20)])
        #expect(window.isEmpty && window.hasRoom)
        #expect(window.cursor == 30, "acks never move the cursor back")
    }

    @Test("window: re-send after the ack timeout, at once after a reconnect, and forget batches gone from disk")
    func windowResendTiming() {
        var window = InflightWindow(capacity: 8, ackTimeoutMs: 5_000)
        window.recordSent(SeqRange(1, 10), nowMs: 1_000)
        window.recordSent(SeqRange(11, 20), nowMs: 3_000)
        #expect(window.dueForResend(nowMs: 5_999).isEmpty)
        #expect(window.dueForResend(nowMs: 6_000).map(\.span) == [SeqRange(1, 10)])
        #expect(window.dueForResend(nowMs: 8_000).map(\.span) == [SeqRange(1, 10), SeqRange(11, 20)])
        window.recordResent(SeqRange(1, 10), nowMs: 8_000)
        #expect(window.dueForResend(nowMs: 8_000).map(\.span) == [SeqRange(11, 20)])
        #expect(window.entries[0].sends == 2)
        window.markAllForResend()
        #expect(window.dueForResend(nowMs: 8_001).count == 2)
        window.forget(SeqRange(1, 10))
        #expect(window.entries.map(\.span) == [SeqRange(11, 20)])
    }

    @Test("range subtraction splits, trims and removes")
    func subtract() {
        let base = [SeqRange(1, 10), SeqRange(20, 30)]
        #expect(InflightWindow.subtract([SeqRange(5, 5)], from: base) == [SeqRange(1, 4), SeqRange(6, 10), SeqRange(20, 30)])
        #expect(InflightWindow.subtract([SeqRange(8, 25)], from: base) == [SeqRange(1, 7), SeqRange(26, 30)])
        #expect(InflightWindow.subtract([SeqRange(0, 100)], from: base) == [])
        #expect(InflightWindow.subtract([], from: base) == base)
    }

    @Test("drain rate: a full bucket allows one burst, then the configured rate")
    func drainRate() {
        var rate = DrainRate(readingsPerSecond: 1_000, burst: 500)
        #expect(rate.allowance(nowMs: 0, limit: 10_000) == 500)
        rate.spend(500, nowMs: 0)
        #expect(rate.allowance(nowMs: 0, limit: 10_000) == 0)
        #expect(rate.delayMs(until: 500) == 500)
        #expect(rate.allowance(nowMs: 100, limit: 10_000) == 100)
        #expect(rate.allowance(nowMs: 10_000, limit: 10_000) == 500, "never more than the burst")
        #expect(rate.allowance(nowMs: 10_000, limit: 50) == 50)
        // Over 10 s of steady sending, no more than rate × time + burst goes out.
        var steady = DrainRate(readingsPerSecond: 1_000, burst: 500)
        var sent = 0
        for now in stride(from: Int64(0), through: 10_000, by: 10) {
            let allowed = steady.allowance(nowMs: now, limit: 500)
            if allowed >= 100 {
                steady.spend(100, nowMs: now)
                sent += 100
            }
        }
        #expect(sent <= 10 * 1_000 + 500)
        #expect(sent >= 10 * 1_000 - 100)
    }
}
