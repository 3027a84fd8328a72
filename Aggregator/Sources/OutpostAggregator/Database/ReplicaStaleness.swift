/// Which PostgreSQL cluster and timeline an answer came from: `system_identifier` is set by
/// `initdb` and kept by every replica cloned from it; a promotion starts a new timeline.
public struct ServerIdentity: Sendable, Hashable {
    public var systemIdentifier: Int64
    public var timeline: Int64

    public init(systemIdentifier: Int64, timeline: Int64) {
        self.systemIdentifier = systemIdentifier
        self.timeline = timeline
    }
}

/// What one question to the replica's address found.
public enum ReplicaObservation: Sendable, Equatable {
    /// A server in recovery of cluster `systemIdentifier`, replayed up to `replayed` (nil: nothing yet).
    case replaying(systemIdentifier: Int64, replayed: UInt64?)
    /// A server not in recovery (a primary), at WAL position `lsn`.
    case primary(ServerIdentity, lsn: UInt64)
}

/// How stale a streaming replica may be, bounded from LSNs; no I/O here.
///
/// Time since the last replayed transaction (`pg_last_xact_replay_timestamp`) grows on an
/// idle primary, and "received = replayed" holds on a replica whose WAL receiver is stuck.
/// So: the primary's WAL position is sampled with the time the question was sent (it had
/// committed at least that much by then); a replica that has replayed past a sample holds
/// everything the primary had committed at that time. The staleness bound is the age of the
/// newest sample the replica has passed.
///
/// LSNs compare only within one history: samples are kept for one primary identity, and
/// cleared when its cluster or timeline changes (a failover). A server at the replica's
/// address that is not in recovery is fresh only when it is that primary itself (same
/// cluster and timeline, at or past its last sample); anything else there (the old primary
/// after a failover, diverged, or another cluster) counts as unreachable: reads go to the primary.
public struct ReplicaStaleness: Sendable, Equatable {
    /// The primary the samples were read from.
    private var server: ServerIdentity?
    /// Its WAL positions and when they were asked for, oldest first.
    private var samples: [(lsn: UInt64, at: ContinuousClock.Instant)] = []
    /// When the newest sample the replica had replayed at the last observation was asked for.
    private var passed: ContinuousClock.Instant?
    /// Samples kept; older ones can no longer bound anything useful.
    static let kept = 64

    public init() {}

    public static func == (lhs: ReplicaStaleness, rhs: ReplicaStaleness) -> Bool {
        lhs.server == rhs.server && lhs.samples.elementsEqual(rhs.samples) { $0.lsn == $1.lsn && $0.at == $1.at }
            && lhs.passed == rhs.passed
    }

    /// The primary `server` was at WAL position `lsn` when asked at `at`. A new cluster or
    /// timeline drops the samples and what the replica was known to have passed.
    public mutating func primary(lsn: UInt64, server: ServerIdentity, at: ContinuousClock.Instant) {
        if server != self.server {
            self.server = server
            samples.removeAll()
            passed = nil
        }
        samples.append((lsn, at))
        if samples.count > Self.kept { samples.removeFirst(samples.count - Self.kept) }
    }

    /// What the replica's address answered when asked at `at`.
    public mutating func replica(_ observation: ReplicaObservation, at: ContinuousClock.Instant) {
        guard let server else {
            passed = nil
            return
        }
        switch observation {
        case .replaying(let systemIdentifier, let replayed):
            guard systemIdentifier == server.systemIdentifier, let replayed else {
                passed = nil
                return
            }
            passed = samples.last(where: { $0.lsn <= replayed })?.at
        case .primary(let identity, let lsn):
            guard identity == server, let last = samples.last, lsn >= last.lsn else {
                passed = nil
                return
            }
            passed = at
        }
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
