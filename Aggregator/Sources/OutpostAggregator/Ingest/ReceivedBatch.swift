import OutpostWire

/// One decoded telemetry message on its way to PostgreSQL.
public struct ReceivedBatch: Sendable, Equatable {
    public var batch: TelemetryBatch
    /// When the router took it from the broker; the start of its ack lag.
    public var receivedAt: ContinuousClock.Instant

    public init(batch: TelemetryBatch, receivedAt: ContinuousClock.Instant) {
        self.batch = batch
        self.receivedAt = receivedAt
    }

    public var rows: Int { batch.readings.count }
}

/// Several telemetry messages written in one round trip.
public struct IngestBatch: Sendable, Equatable {
    public private(set) var messages: [ReceivedBatch] = []
    public private(set) var rows = 0

    public init(_ messages: [ReceivedBatch] = []) {
        messages.forEach { append($0) }
    }

    public mutating func append(_ message: ReceivedBatch) {
        messages.append(message)
        rows += message.rows
    }

    public var isEmpty: Bool { messages.isEmpty }

    /// The distinct devices named, sorted.
    public var devices: [DeviceID] { Array(Set(messages.map(\.batch.device))).sorted() }

    /// What one write stores: column arrays for `unnest` with each (device, buffer, seq) once,
    /// and per (device, buffer) the lowest and highest seq, for the high-water marks.
    ///
    /// A seq appears at most once per message (the decoder refuses `duplicate_seq`), but two
    /// messages of one batch may repeat it (a device re-sending before its ack came, or
    /// sending the same seq with another ts). The first occurrence is stored; the later ones
    /// are acked with it. Only a buffer whose messages' seq spans overlap is checked reading
    /// by reading, so in-order ingest pays no hashing.
    public var writePlan: WritePlan {
        struct Key: Hashable {
            var device: DeviceID
            var buffer: BufferID
        }
        var plan = WritePlan()
        plan.columns.reserve(rows)
        var spans: [Key: (low: Int64, high: Int64, messages: [Int])] = [:]
        var marks: [Key] = []
        var seen: [Key: [Int64: Reading]] = [:]
        for (index, message) in messages.enumerated() {
            let key = Key(device: message.batch.device, buffer: message.batch.buffer)
            let readings = message.batch.readings
            guard var low = readings.first?.seq else { continue }
            var high = low
            for reading in readings {
                low = min(low, reading.seq)
                high = max(high, reading.seq)
            }
            var overlaps = false
            if let span = spans[key] {
                overlaps = seen[key] != nil || (low <= span.high && high >= span.low)
                if overlaps, seen[key] == nil {
                    // The first overlap in this buffer: index what the batch already holds of it.
                    var earlier: [Int64: Reading] = [:]
                    for previous in span.messages {
                        for reading in messages[previous].batch.readings { earlier[reading.seq] = reading }
                    }
                    seen[key] = earlier
                }
                spans[key] = (min(low, span.low), max(high, span.high), span.messages + [index])
            } else {
                spans[key] = (low, high, [index])
                marks.append(key)
            }
            let device = message.batch.device.rawValue
            let buffer = message.batch.buffer.signedBitPattern
            for reading in readings {
                if overlaps {
                    if let first = seen[key]?[reading.seq] {
                        if first != reading { plan.conflictingRepeats[key.device, default: 0] += 1 }
                        continue
                    }
                    seen[key]?[reading.seq] = reading
                }
                plan.columns.devices.append(device)
                plan.columns.buffers.append(buffer)
                plan.columns.seqs.append(reading.seq)
                plan.columns.timestamps.append(reading.ts)
                plan.columns.metrics.append(reading.metric)
                plan.columns.values.append(reading.value)
            }
        }
        for key in marks {
            let span = spans[key]!
            plan.marks.devices.append(key.device.rawValue)
            plan.marks.buffers.append(key.buffer.signedBitPattern)
            plan.marks.lows.append(span.low)
            plan.marks.highs.append(span.high)
        }
        return plan
    }

    /// What ``writePlan`` makes of a batch.
    public struct WritePlan: Sendable, Equatable {
        public var columns = Columns()
        public var marks = Marks()
        /// Per device, readings left out because an earlier message of the batch had their
        /// (buffer, seq) with another ts, metric or value. (Exact repeats are not counted here.)
        public var conflictingRepeats: [DeviceID: Int] = [:]
    }

    /// One element per (device, buffer) of the batch, in order of first appearance.
    public struct Marks: Sendable, Equatable {
        public var devices: [String] = []
        public var buffers: [Int64] = []
        public var lows: [Int64] = []
        public var highs: [Int64] = []
    }

    public struct Columns: Sendable, Equatable {
        public var devices: [String] = []
        public var buffers: [Int64] = []
        public var seqs: [Int64] = []
        public var timestamps: [Int64] = []
        public var metrics: [String] = []
        public var values: [Double] = []

        mutating func reserve(_ count: Int) {
            devices.reserveCapacity(count)
            buffers.reserveCapacity(count)
            seqs.reserveCapacity(count)
            timestamps.reserveCapacity(count)
            metrics.reserveCapacity(count)
            values.reserveCapacity(count)
        }
    }
}
