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
        // Agents send seqs ascending, which cannot repeat: a set is built only at the first step down.
        var seqs: Set<Int64>?
        var previous = Int64.min
        for (position, reading) in readings.enumerated() {
            try reading.validate(limits: limits, nowMs: nowMs)
            if seqs == nil {
                if reading.seq > previous {
                    previous = reading.seq
                    continue
                }
                seqs = Set(readings[..<position].lazy.map(\.seq))
            }
            guard seqs?.insert(reading.seq).inserted == true else {
                throw WireError(.duplicateSeq, "seq \(reading.seq) appears twice in the batch")
            }
        }
    }
}
