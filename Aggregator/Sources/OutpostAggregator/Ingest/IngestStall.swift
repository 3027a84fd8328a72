/// Whether ingest is stuck: readings wait to be written and nothing has committed for a while.
///
/// A failing write already shows (`write_failing:readings`); a write that never returns
/// does not, and `/health`'s `SELECT 1` needs no synchronous commit, so it stays green while
/// every commit waits for a stalled standby. This watches progress instead. The clock starts
/// at the last commit, or when readings began to wait after none did.
public struct IngestStall: Sendable, Equatable {
    /// Readings admitted and not yet settled (committed, dead-lettered, refused or dropped).
    public private(set) var pendingRows = 0
    private var since: ContinuousClock.Instant?

    public init() {}

    /// Readings entered the pipeline.
    public mutating func admitted(_ rows: Int, at now: ContinuousClock.Instant) {
        guard rows > 0 else { return }
        if pendingRows == 0 { since = now }
        pendingRows += rows
    }

    /// Readings left the pipeline after a commit (stored, duplicates, refused or dead-lettered).
    public mutating func committed(_ rows: Int, at now: ContinuousClock.Instant) {
        pendingRows = max(0, pendingRows - rows)
        since = now
    }

    /// Readings left the pipeline without a commit (abandoned at shutdown; the devices re-send them).
    public mutating func dropped(_ rows: Int) {
        pendingRows = max(0, pendingRows - rows)
    }

    /// How long readings have waited without a commit; zero when none wait.
    public func waited(at now: ContinuousClock.Instant) -> Duration {
        guard pendingRows > 0, let since else { return .zero }
        return max(.zero, now - since)
    }

    /// True when readings have waited `limit` or longer without a commit.
    public func isStalled(at now: ContinuousClock.Instant, limit: Duration) -> Bool {
        pendingRows > 0 && waited(at: now) >= limit
    }
}
