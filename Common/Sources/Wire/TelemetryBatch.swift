/// Many readings from one device buffer, on `outpost/v1/{device}/telemetry`.
public struct TelemetryBatch: WireMessage {
    public static let schemaVersion = 1
    public var v: Int
    public var device: DeviceID
    public var buffer: BufferID
    public var readings: [Reading]

    public init(device: DeviceID, buffer: BufferID, readings: [Reading]) {
        self.v = Self.schemaVersion
        self.device = device
        self.buffer = buffer
        self.readings = readings
    }

    public var deviceField: DeviceID? { device }

    public func validate(limits: WireLimits, nowMs: Int64) throws(WireError) {
        guard !readings.isEmpty else { throw WireError(.emptyBatch, "a batch must carry at least one reading") }
        guard readings.count <= limits.maxReadingsPerBatch else {
            throw WireError(.batchTooLarge, "\(readings.count) readings exceed the cap of \(limits.maxReadingsPerBatch)")
        }
        // A seq names one reading of the buffer: twice in one batch (whatever its ts) is refused.
        var seqs = Set<Int64>(minimumCapacity: readings.count)
        for reading in readings {
            try reading.validate(limits: limits, nowMs: nowMs)
            guard seqs.insert(reading.seq).inserted else {
                throw WireError(.duplicateSeq, "seq \(reading.seq) appears twice in the batch")
            }
        }
    }
}
