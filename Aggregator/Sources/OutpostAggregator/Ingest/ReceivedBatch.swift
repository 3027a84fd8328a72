import OutpostCommon

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

    /// Column arrays for `unnest`: one element per reading.
    public var columns: Columns {
        var columns = Columns()
        columns.reserve(rows)
        for message in messages {
            let device = message.batch.device.rawValue
            let buffer = message.batch.buffer.signedBitPattern
            for reading in message.batch.readings {
                columns.devices.append(device)
                columns.buffers.append(buffer)
                columns.seqs.append(reading.seq)
                columns.timestamps.append(reading.ts)
                columns.metrics.append(reading.metric)
                columns.values.append(reading.value)
            }
        }
        return columns
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
