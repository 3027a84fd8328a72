import OutpostSupport
import OutpostWire

/// The `ingest` section: how readings are batched into PostgreSQL.
///
/// A batch closes when it holds `batch_max_rows` readings or when `batch_max_delay_ms`
/// have passed since its first message, whichever comes first. Memory is bounded by
/// `queue_max_rows` waiting readings plus one batch per writer.
public struct IngestSettings: Codable, Sendable, Equatable {
    /// Most readings in one database round trip. Defaults to 5,000.
    public var batchMaxRows: Int
    /// Longest a reading waits for its batch to fill, in ms. Defaults to 50.
    public var batchMaxDelayMs: Int
    /// Readings decoded and waiting for a batch before the MQTT consumer stops taking
    /// messages (back-pressure to the broker). Defaults to 20,000.
    public var queueMaxRows: Int
    /// Readings one device may have in that queue (at most half of it); its messages past
    /// that are shed, not acked, and re-sent by the device, so a flooding device cannot
    /// hold the broker consumer. Above an agent's in-flight window (8 × 500 by default).
    /// Defaults to 5,000.
    public var deviceQueueMaxRows: Int
    /// Batches written concurrently, each on its own pooled connection. Defaults to 2.
    public var writers: Int
    /// MQTT v5 session expiry of this aggregator's broker session, in seconds. A restart
    /// within it resumes the session and receives what the broker queued meanwhile.
    /// mosquitto keeps handing a disconnected session its share of the shared
    /// subscription, so an instance that is gone for good holds that share (which
    /// devices then re-send) until its session expires: keep it short. Defaults to 300.
    public var sessionExpirySeconds: Int
    /// The group of the shared subscriptions (`$share/{group}/…`) every aggregator of the
    /// fleet joins. mosquitto grants any client any subscription (its `acl_file` checks
    /// reads at delivery, not at subscribe), so a device that names the group joins it and
    /// swallows its share of messages. Set the same random value (`openssl rand -hex 16`)
    /// on every aggregator and a device cannot join. `[A-Za-z0-9_-]{1,64}`; defaults to `outpost`.
    public var shareGroup: String
    /// Longest one batch write may take, lease of a connection included, in ms. Past it the
    /// connection is closed and the batch retried (``WriteDeadline``). Defaults to 30,000.
    public var writeDeadlineMs: Int
    /// Longest a batch write waits for a row lock (a mark another session holds), in ms: the
    /// server ends the wait with SQLSTATE 55P03 and the batch is retried, before the deadline
    /// closes the connection. Below `write_deadline_ms`. Defaults to 5,000 (half the deadline
    /// when that is shorter).
    public var lockTimeoutMs: Int
    /// Seconds with readings waiting and nothing committed before `/health` reports
    /// `ingest_stalled` (degraded). Defaults to 30.
    public var stallSeconds: Int

    public init(batchMaxRows: Int = 5_000, batchMaxDelayMs: Int = 50, queueMaxRows: Int = 20_000, deviceQueueMaxRows: Int = 5_000,
                writers: Int = 2, sessionExpirySeconds: Int = 300, shareGroup: String = Topic.sharedGroup,
                writeDeadlineMs: Int = 30_000, lockTimeoutMs: Int? = nil, stallSeconds: Int = 30) {
        self.batchMaxRows = batchMaxRows
        self.batchMaxDelayMs = batchMaxDelayMs
        self.queueMaxRows = queueMaxRows
        self.deviceQueueMaxRows = deviceQueueMaxRows
        self.writers = writers
        self.sessionExpirySeconds = sessionExpirySeconds
        self.shareGroup = shareGroup
        self.writeDeadlineMs = writeDeadlineMs
        self.lockTimeoutMs = lockTimeoutMs ?? Self.defaultLockTimeoutMs(writeDeadlineMs: writeDeadlineMs)
        self.stallSeconds = stallSeconds
    }

    /// 5 s, or half the write deadline when that is shorter.
    static func defaultLockTimeoutMs(writeDeadlineMs: Int) -> Int { min(5_000, writeDeadlineMs / 2) }

    /// True for a group name mosquitto and every MQTT v5 broker accept: `[A-Za-z0-9_-]{1,64}`.
    static func isValidShareGroup(_ group: String) -> Bool {
        (1...64).contains(group.utf8.count) && group.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        batchMaxRows = try container.value(.batchMaxRows, default: 5_000, where: { (1...100_000).contains($0) }, "must be 1-100000")
        batchMaxDelayMs = try container.value(.batchMaxDelayMs, default: 50, where: { (1...60_000).contains($0) }, "must be 1-60000 ms")
        queueMaxRows = try container.value(.queueMaxRows, default: 20_000, where: { (1...10_000_000).contains($0) },
                                           "must be 1-10000000")
        deviceQueueMaxRows = try container.value(.deviceQueueMaxRows, default: 5_000, where: { (1...10_000_000).contains($0) },
                                                 "must be 1-10000000")
        writers = try container.value(.writers, default: 2, where: { (1...64).contains($0) }, "must be 1-64")
        sessionExpirySeconds = try container.value(.sessionExpirySeconds, default: 300, where: { (1...604_800).contains($0) },
                                                   "must be 1-604800 seconds")
        shareGroup = try container.value(.shareGroup, default: Topic.sharedGroup, where: Self.isValidShareGroup,
                                         "must match [A-Za-z0-9_-]{1,64}")
        writeDeadlineMs = try container.value(.writeDeadlineMs, default: 30_000, where: { (100...3_600_000).contains($0) },
                                              "must be 100-3600000 ms")
        lockTimeoutMs = try container.value(.lockTimeoutMs, default: Self.defaultLockTimeoutMs(writeDeadlineMs: writeDeadlineMs),
                                            where: { [writeDeadlineMs] in $0 >= 10 && $0 < writeDeadlineMs },
                                            "must be at least 10 ms and below write_deadline_ms")
        stallSeconds = try container.value(.stallSeconds, default: 30, where: { (1...86_400).contains($0) }, "must be 1-86400 seconds")
    }
}
