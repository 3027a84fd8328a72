import Dispatch
import Logging
import OutpostWire

/// The agent's store-and-forward buffer: group commit in front of ``ReadingStore``.
///
/// Sources ``add(_:)`` samples; they wait in memory until the next commit, which runs
/// every `commitInterval` or as soon as `commitRows` samples are pending, whichever is
/// first. So a reading is durable at most `commitInterval` (plus one commit's duration)
/// after capture. While `maxPending` samples wait, ``add(_:)`` commits inline, so a slow
/// disk slows the sources instead of growing memory.
///
/// SQLite calls block (a FULL commit waits for fsync), so the actor runs on its own serial
/// queue rather than on the few threads of the async pool.
public actor ReadingBuffer {
    private nonisolated let executor = QueueExecutor(label: "outpost.buffer")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public struct Configuration: Sendable, Equatable {
        public var path: String
        public var capacity: BufferCapacity
        public var commitInterval: Duration
        public var commitRows: Int
        public var synchronousFull: Bool
        /// Damaged files moved aside longer ago than this are removed at open; nil keeps them.
        public var corruptRetention: Duration?

        public init(path: String, capacity: BufferCapacity, commitInterval: Duration = .milliseconds(200), commitRows: Int = 1_000,
                    synchronousFull: Bool = true, corruptRetention: Duration? = .seconds(30 * 86_400)) {
            self.path = path
            self.capacity = capacity
            self.commitInterval = commitInterval
            self.commitRows = commitRows
            self.synchronousFull = synchronousFull
            self.corruptRetention = corruptRetention
        }
    }

    public nonisolated let configuration: Configuration
    public nonisolated let bufferID: BufferID
    /// Set when a damaged file was moved aside at start-up: where to, and why.
    public nonisolated let recoveredFrom: (movedTo: String, reason: String)?

    private let store: ReadingStore
    private let logger: Logger
    private var pending: [Sample] = []
    private var failedCommits = 0
    /// Samples given up while commits kept failing (disk full, I/O errors); reported with the drops.
    private var lostUnsaved: Int64 = 0
    /// Samples left out at capture because the wire would refuse them.
    public private(set) var refused: Int64 = 0
    private var committedListeners: [Wakeup] = []

    /// Opens the file (checking its integrity, moving a damaged one aside).
    public init(configuration: Configuration, logger: Logger) throws(BufferError) {
        self.configuration = configuration
        var logger = logger
        if let retention = configuration.corruptRetention {
            for removed in ReadingStore.removeCorruptFiles(of: configuration.path, olderThan: retention, now: WireClock.nowMs() / 1000) {
                logger.notice("removed a damaged buffer file past its retention", metadata: ["path": "\(removed)"])
            }
        }
        let (store, recovery) = try ReadingStore.open(
            path: configuration.path, capacity: configuration.capacity, synchronous: configuration.synchronousFull ? .full : .normal)
        self.store = store
        self.bufferID = store.bufferID
        self.recoveredFrom = recovery.map { ($0.movedTo, $0.reason) }
        logger[metadataKey: "buffer"] = "\(store.bufferID)"
        self.logger = logger
        if let recovery {
            logger.error("buffer file was damaged; moved aside and started a fresh one",
                         metadata: ["moved_to": "\(recovery.movedTo)", "reason": "\(recovery.reason)"])
        }
        logger.info("buffer opened", metadata: ["path": "\(configuration.path)", "depth": "\(store.rows)", "last_seq": "\(store.lastSeq)"])
    }

    /// Wakes `wakeup` after every commit that added readings.
    public func onCommit(_ wakeup: Wakeup) {
        committedListeners.append(wakeup)
    }

    /// Queues samples for the next group commit. Samples the centre would refuse (a metric
    /// name outside the pattern, a non-finite value, a clock before 2020) are counted and
    /// left out, so they cannot block the window as a batch that is never acknowledged.
    public func add(_ samples: [Sample]) {
        let limits = WireLimits.standard
        let valid = samples.filter { sample in
            sample.value.isFinite && sample.ts >= limits.minTimestampMs && Reading.isValidMetric(sample.metric, limits: limits)
        }
        if valid.count < samples.count {
            refused += Int64(samples.count - valid.count)
            if refused == Int64(samples.count - valid.count) || refused % 1_000 == 0 {
                logger.warning("samples refused at capture", metadata: ["refused_total": "\(refused)"])
            }
        }
        pending.append(contentsOf: valid)
        if pending.count >= configuration.commitRows {
            commit()
        }
    }

    /// Commits everything pending in one transaction. On a disk error the samples stay
    /// pending (up to `commitRows` × 10, oldest dropped beyond) and the next commit retries.
    public func commit() {
        guard !pending.isEmpty else { return }
        do {
            let dropped = try store.append(pending)
            pending.removeAll(keepingCapacity: pending.count <= 4 * configuration.commitRows)
            failedCommits = 0
            if dropped > 0 {
                logger.warning("buffer full: dropped oldest readings", metadata: ["dropped": "\(dropped)", "dropped_total": "\(store.dropped)"])
            }
            committedListeners.forEach { $0.signal() }
        } catch {
            failedCommits += 1
            let limit = configuration.commitRows * 10
            if pending.count > limit {
                let excess = pending.count - limit
                pending.removeFirst(excess)
                lostUnsaved += Int64(excess)
                logger.error("buffer commits failing; dropping unsaved samples", metadata: ["lost": "\(excess)"])
            }
            if failedCommits == 1 || failedCommits % 50 == 0 {
                logger.error("buffer commit failed", metadata: ["code": "\(error.code)", "error": "\(error.context)", "attempt": "\(failedCommits)"])
            }
        }
    }

    /// Deletes the acknowledged readings. - Returns: how many were deleted.
    @discardableResult
    public func acknowledge(_ ranges: [SeqRange]) throws(BufferError) -> Int {
        try store.delete(ranges)
    }

    /// The oldest committed readings after `seq`.
    public func readings(after seq: Int64, limit: Int) throws(BufferError) -> [Reading] {
        try store.readings(after: seq, limit: limit)
    }

    /// The committed readings still here in `range`.
    public func readings(in range: SeqRange, limit: Int) throws(BufferError) -> [Reading] {
        try store.readings(in: range, limit: limit)
    }

    /// The store's figures; `dropped` also counts samples lost because commits kept failing.
    public func stats() -> BufferStats {
        var stats = (try? store.stats())
            ?? BufferStats(buffer: store.bufferID, depth: store.rows, bytes: store.bytes, oldestTs: nil, dropped: store.dropped, lastSeq: store.lastSeq)
        stats.dropped += lostUnsaved
        return stats
    }

    public var pendingCount: Int { pending.count }

    /// Commits what is pending and checkpoints the WAL; for shutdown.
    public func close() {
        commit()
        store.checkpoint()
        logger.info("buffer flushed", metadata: ["depth": "\(store.rows)", "last_seq": "\(store.lastSeq)", "unsaved": "\(pending.count)"])
    }
}
