/// The exactly-once invariant, per device: once everything has caught up, the buffer holds
/// nothing (pending 0, dropped 0) and PostgreSQL holds, for the device's buffer, exactly
/// the seqs 1...last_seq, each once:
/// `count(*) = count(DISTINCT seq) = max(seq) = last_seq` and `min(seq) = 1`.
///
/// A pure function of the buffer files' facts and the database's counts, so the
/// verdicts can be tested without a process.
public struct InvariantChecker: Sendable {
    public init() {}

    /// One verdict per observed device (in the given order), then one per device that only
    /// PostgreSQL knows.
    public func verdicts(observations: [BufferObservation], stored: [StoredCounts]) -> [DeviceVerdict] {
        let byDevice = Dictionary(grouping: stored, by: \.device)
        var verdicts = observations.map { verdict(for: $0, stored: byDevice[$0.device] ?? []) }
        let known = Set(observations.map(\.device))
        for device in byDevice.keys.sorted() where !known.contains(device) {
            let rows = byDevice[device]!.reduce(0) { $0 + $1.rows }
            verdicts.append(DeviceVerdict(device: device, buffer: nil, captured: 0, stored: rows, duplicates: 0, missing: 0, unexpected: rows,
                                          pending: 0, dropped: 0,
                                          problems: [.init(.unknownDevice, "\(rows) row(s) for a device the campaign does not run")]))
        }
        return verdicts
    }

    public func verdict(for observation: BufferObservation, stored: [StoredCounts]) -> DeviceVerdict {
        let allRows = stored.reduce(0) { $0 + $1.rows }
        let facts: BufferFacts
        switch observation {
        case .read(let read):
            facts = read
        case .unreadable(let device, let reason):
            return DeviceVerdict(device: device, buffer: nil, captured: 0, stored: allRows, duplicates: 0, missing: 0, unexpected: 0,
                                 pending: 0, dropped: 0, problems: [.init(.unreadableBuffer, reason)])
        }
        let own = stored.first { $0.buffer == facts.buffer } ?? .none(device: facts.device, buffer: facts.buffer)
        let foreign = stored.filter { $0.buffer != facts.buffer }
        let foreignRows = foreign.reduce(0) { $0 + $1.rows }
        let duplicates = own.rows - own.distinctSeqs
        let missing = max(0, facts.lastSeq - own.distinctInCapturedRange)
        let outside = own.distinctSeqs - own.distinctInCapturedRange

        var problems: [DeviceVerdict.Problem] = []
        if facts.lastSeq <= 0 { problems.append(.init(.nothingCaptured, "the buffer never handed out a seq")) }
        if missing > 0 {
            problems.append(.init(.missing, "\(missing) of seqs 1...\(facts.lastSeq) not stored"))
        }
        if duplicates > 0 { problems.append(.init(.duplicate, "\(duplicates) extra row(s) for seqs already stored")) }
        if outside > 0 {
            problems.append(.init(.unexpectedSeq, "\(outside) stored seq(s) outside 1...\(facts.lastSeq) (min \(own.minSeq), max \(own.maxSeq))"))
        }
        if foreignRows > 0 {
            let ids = foreign.map { String(UInt64(bitPattern: $0.buffer), radix: 16) }.joined(separator: ", ")
            problems.append(.init(.foreignBuffer, "\(foreignRows) row(s) under buffer(s) \(ids)"))
        }
        if facts.pending > 0 { problems.append(.init(.pending, "\(facts.pending) reading(s) still in the buffer")) }
        if facts.dropped > 0 { problems.append(.init(.dropped, "\(facts.dropped) reading(s) dropped by the full buffer")) }
        return DeviceVerdict(device: facts.device, buffer: facts.buffer, captured: facts.lastSeq, stored: allRows, duplicates: duplicates,
                             missing: missing, unexpected: outside + foreignRows, pending: facts.pending, dropped: facts.dropped,
                             problems: problems)
    }

    /// The contract's formula, literally: what a passing verdict must agree with.
    public static func holdsContract(_ facts: BufferFacts, _ own: StoredCounts) -> Bool {
        facts.pending == 0 && facts.dropped == 0 && own.rows == own.distinctSeqs && own.distinctSeqs == own.maxSeq
            && own.maxSeq == facts.lastSeq && own.minSeq == 1
    }
}
