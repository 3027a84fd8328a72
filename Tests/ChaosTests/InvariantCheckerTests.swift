import Testing
@testable import ChaosCampaign

@Suite("Exactly-once invariant checker")
struct InvariantCheckerTests {
    static let buffer: Int64 = -0x1234_5678_9ABC
    static func facts(lastSeq: Int64 = 100, pending: Int64 = 0, dropped: Int64 = 0) -> BufferFacts {
        BufferFacts(device: "meter-1", buffer: buffer, lastSeq: lastSeq, pending: pending, dropped: dropped)
    }

    static func stored(rows: Int64 = 100, distinct: Int64 = 100, min: Int64 = 1, max: Int64 = 100, inRange: Int64 = 100,
                       buffer: Int64 = buffer) -> StoredCounts {
        StoredCounts(device: "meter-1", buffer: buffer, rows: rows, distinctSeqs: distinct, minSeq: min, maxSeq: max,
                     distinctInCapturedRange: inRange)
    }

    static func verdict(_ facts: BufferFacts, _ stored: [StoredCounts]) -> DeviceVerdict {
        InvariantChecker().verdict(for: .read(facts), stored: stored)
    }

    @Test("every seq 1...last_seq stored once, nothing pending or dropped: pass")
    func passes() {
        let verdict = Self.verdict(Self.facts(), [Self.stored()])
        #expect(verdict.passed)
        #expect(verdict.captured == 100 && verdict.stored == 100 && verdict.missing == 0 && verdict.duplicates == 0)
        #expect(InvariantChecker.holdsContract(Self.facts(), Self.stored()))
    }

    @Test("one reading missing fails with missing")
    func missing() {
        let stored = Self.stored(rows: 99, distinct: 99, inRange: 99)
        let verdict = Self.verdict(Self.facts(), [stored])
        #expect(verdict.codes == [.missing])
        #expect(verdict.missing == 1)
        #expect(!InvariantChecker.holdsContract(Self.facts(), stored))
    }

    @Test("the newest readings missing (max below last_seq) fails with missing")
    func missingTail() {
        let verdict = Self.verdict(Self.facts(), [Self.stored(rows: 90, distinct: 90, max: 90, inRange: 90)])
        #expect(verdict.codes == [.missing])
        #expect(verdict.missing == 10)
    }

    @Test("nothing stored at all fails with missing")
    func nothingStored() {
        let verdict = Self.verdict(Self.facts(), [])
        #expect(verdict.codes == [.missing])
        #expect(verdict.missing == 100 && verdict.stored == 0)
    }

    @Test("a seq stored twice fails with duplicate")
    func duplicate() {
        let stored = Self.stored(rows: 101)
        let verdict = Self.verdict(Self.facts(), [stored])
        #expect(verdict.codes == [.duplicate])
        #expect(verdict.duplicates == 1)
        #expect(!InvariantChecker.holdsContract(Self.facts(), stored))
    }

    @Test("a duplicate hiding a missing seq (same row count) fails with both")
    func duplicateMaskingLoss() {
        let verdict = Self.verdict(Self.facts(), [Self.stored(rows: 100, distinct: 99, inRange: 99)])
        #expect(verdict.codes == [.missing, .duplicate])
    }

    @Test("readings the full buffer dropped fail with dropped, even when the rest is stored")
    func dropped() {
        let facts = Self.facts(dropped: 5)
        let verdict = Self.verdict(facts, [Self.stored()])
        #expect(verdict.codes == [.dropped])
        #expect(verdict.dropped == 5)
        #expect(!InvariantChecker.holdsContract(facts, Self.stored()))
    }

    @Test("readings still pending in the buffer fail with pending")
    func pending() {
        let facts = Self.facts(pending: 3)
        let verdict = Self.verdict(facts, [Self.stored(rows: 97, distinct: 97, max: 97, inRange: 97)])
        #expect(verdict.codes == [.missing, .pending])
        #expect(verdict.pending == 3)
        #expect(!InvariantChecker.holdsContract(facts, Self.stored()))
    }

    @Test("seqs beyond last_seq and rows under another buffer id fail")
    func unexpected() {
        let beyond = Self.verdict(Self.facts(), [Self.stored(rows: 101, distinct: 101, max: 101, inRange: 100)])
        #expect(beyond.codes == [.unexpectedSeq])
        #expect(beyond.unexpected == 1)
        let foreign = Self.verdict(Self.facts(), [Self.stored(), Self.stored(rows: 7, distinct: 7, max: 7, inRange: 0, buffer: 99)])
        #expect(foreign.codes == [.foreignBuffer])
        #expect(foreign.stored == 107 && foreign.unexpected == 7)
    }

    @Test("a device that captured nothing, or whose buffer cannot be read, fails")
    func nothingCapturedOrUnreadable() {
        #expect(Self.verdict(Self.facts(lastSeq: 0), []).codes == [.nothingCaptured])
        let unreadable = InvariantChecker().verdict(for: .unreadable(device: "meter-1", reason: "no such file"), stored: [])
        #expect(unreadable.codes == [.unreadableBuffer])
    }

    @Test("rows of a device the campaign does not run fail as unknown_device")
    func unknownDevice() {
        let stranger = StoredCounts(device: "meter-x", buffer: 1, rows: 4, distinctSeqs: 4, minSeq: 1, maxSeq: 4, distinctInCapturedRange: 0)
        let verdicts = InvariantChecker().verdicts(observations: [.read(Self.facts())], stored: [Self.stored(), stranger])
        #expect(verdicts.map(\.device) == ["meter-1", "meter-x"])
        #expect(verdicts[0].passed)
        #expect(verdicts[1].codes == [.unknownDevice])
    }

    @Test("the summary counts devices plus the process check and ends with `N passed, M failed`")
    func summary() {
        let good = Self.verdict(Self.facts(), [Self.stored()])
        let bad = Self.verdict(Self.facts(), [Self.stored(rows: 101)])
        let passing = CampaignSummary(verdicts: [good, good], faults: [], unexpectedExits: [], restartFailures: [], wallSeconds: 1)
        #expect(passing.lines.last == "3 passed, 0 failed")
        let failing = CampaignSummary(verdicts: [good, bad], faults: [], unexpectedExits: ["aggregator chaos-a (exit 1)"],
                                      restartFailures: [], wallSeconds: 1)
        #expect(failing.lines.last == "1 passed, 2 failed")
        #expect(failing.lines.contains { $0.hasPrefix("FAIL meter-1: duplicate") })
        #expect(failing.total(\.duplicates) == 1)
    }
}
