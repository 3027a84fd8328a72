/// How stale a streaming replica may be, bounded from LSNs; no I/O here.
///
/// Time since the last replayed transaction (`pg_last_xact_replay_timestamp`) grows on an
/// idle primary, and "received = replayed" holds on a replica whose WAL receiver is stuck.
/// So: the primary's WAL position is sampled with the time it was read; a replica that has
/// replayed past a sample holds everything the primary had committed at that time. The
/// staleness bound is the age of the newest sample the replica has passed.
public struct ReplicaStaleness: Sendable, Equatable {
    /// Primary WAL positions and when they were read, oldest first.
    private var samples: [(lsn: UInt64, at: ContinuousClock.Instant)] = []
    /// When the newest sample the replica had replayed at the last observation was read.
    private var passed: ContinuousClock.Instant?
    /// Samples kept; older ones can no longer bound anything useful.
    static let kept = 64

    public init() {}

    public static func == (lhs: ReplicaStaleness, rhs: ReplicaStaleness) -> Bool {
        lhs.samples.elementsEqual(rhs.samples) { $0.lsn == $1.lsn && $0.at == $1.at } && lhs.passed == rhs.passed
    }

    /// The primary's current WAL position, read at `at`.
    public mutating func primary(lsn: UInt64, at: ContinuousClock.Instant) {
        samples.append((lsn, at))
        if samples.count > Self.kept { samples.removeFirst(samples.count - Self.kept) }
    }

    /// The replica's replayed WAL position, read at `at`; nil when it is not replaying (a
    /// primary, after a failover through the replica port): as fresh as the primary.
    public mutating func replica(replayed lsn: UInt64?, at: ContinuousClock.Instant) {
        guard let lsn else {
            passed = at
            return
        }
        passed = samples.last(where: { $0.lsn <= lsn })?.at
    }

    /// The replica could not be asked: nothing is known about it any more.
    public mutating func unreachable() { passed = nil }

    /// At most how old the replica's data is at `now`; nil when unknown.
    public func bound(at now: ContinuousClock.Instant) -> Duration? {
        passed.map { now - $0 }
    }

    /// True when a read at `now` may go to the replica under `limit`.
    public func allowsReplica(at now: ContinuousClock.Instant, limit: Duration) -> Bool {
        guard let bound = bound(at: now) else { return false }
        return bound <= limit
    }
}
