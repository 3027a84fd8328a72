/// A message ``WireCodec`` decodes by walking the scanned payload with a ``JSONReader``
/// instead of going through `JSONDecoder`: the messages on the hot path.
protocol DirectlyDecodedMessage: WireMessage {
    /// Builds the message, refusing with the code `JSONDecoder` would give: the same
    /// fields in the same order, the first refusal wins, and a readable `v` other than
    /// ``WireMessage/schemaVersion`` explains any refusal.
    static func decodeDirectly(from reader: JSONReader) throws(WireError) -> Self
}

extension TelemetryBatch: DirectlyDecodedMessage {
    /// Fields in declaration order (what the synthesized `Decodable` init reads):
    /// `v`, `device`, `buffer`, `readings`, then each reading's `seq`, `ts`, `metric`, `value`.
    static func decodeDirectly(from reader: JSONReader) throws(WireError) -> TelemetryBatch {
        let root = reader.skipWhitespace(from: 0)
        guard reader.kind(at: root) == .object else {
            throw WireError(.wrongType, "the payload is \(reader.describe(reader.kind(at: root))), expected an object")
        }
        var versionAt: Int?, deviceAt: Int?, bufferAt: Int?, readingsAt: Int?
        try reader.forEachMember(ofObjectAt: root) { key, value in
            if reader.key(key, is: "v") {
                versionAt = value
            } else if reader.key(key, is: "device") {
                deviceAt = value
            } else if reader.key(key, is: "buffer") {
                bufferAt = value
            } else if reader.key(key, is: "readings") {
                readingsAt = value
            }
        }
        let claimedVersion = versionAt.flatMap { try? reader.int64(at: $0, path: ".v") }
        do throws(WireError) {
            let version = try reader.int64(at: required(versionAt, ".v"), path: ".v")
            let deviceText = try reader.string(at: required(deviceAt, ".device"), path: ".device")
            guard let device = DeviceID(deviceText) else {
                throw WireError(.invalidDeviceID, "device id \(deviceText.prefix(80).debugDescription) does not match [a-z0-9][a-z0-9-]{0,62}")
            }
            guard let buffer = BufferID(hex: try reader.string(at: required(bufferAt, ".buffer"), path: ".buffer")) else {
                throw WireError(.invalidBufferID, "buffer id must be 16 lower-case hex digits")
            }
            let readingsIndex = try required(readingsAt, ".readings")
            guard reader.kind(at: readingsIndex) == .array else {
                throw WireError(.wrongType, ".readings is \(reader.describe(reader.kind(at: readingsIndex))), expected an array")
            }
            var readings: [Reading] = []
            try reader.forEachElement(ofArrayAt: readingsIndex) { position, element throws(WireError) in
                readings.append(try Reading.decodeDirectly(from: reader, at: element, position: position))
            }
            var batch = TelemetryBatch(device: device, buffer: buffer, readings: readings)
            batch.v = Int(version)
            return batch
        } catch {
            if let claimedVersion, claimedVersion != Int64(schemaVersion) {
                throw WireError(.unsupportedVersion, "version \(claimedVersion) is not \(schemaVersion)")
            }
            throw error
        }
    }
}

extension Reading {
    static func decodeDirectly(from reader: JSONReader, at index: Int, position: Int) throws(WireError) -> Reading {
        guard reader.kind(at: index) == .object else {
            throw WireError(.wrongType, ".readings[\(position)] is \(reader.describe(reader.kind(at: index))), expected an object")
        }
        var seqAt: Int?, tsAt: Int?, metricAt: Int?, valueAt: Int?
        try reader.forEachMember(ofObjectAt: index) { key, value in
            if reader.key(key, is: "seq") {
                seqAt = value
            } else if reader.key(key, is: "ts") {
                tsAt = value
            } else if reader.key(key, is: "metric") {
                metricAt = value
            } else if reader.key(key, is: "value") {
                valueAt = value
            }
        }
        func path(_ field: String) -> String { ".readings[\(position)].\(field)" }
        return Reading(
            seq: try reader.int64(at: required(seqAt, path("seq")), path: path("seq")),
            ts: try reader.int64(at: required(tsAt, path("ts")), path: path("ts")),
            metric: try reader.string(at: required(metricAt, path("metric")), path: path("metric")),
            value: try reader.double(at: required(valueAt, path("value")), path: path("value")))
    }
}

private func required(_ index: Int?, _ path: @autoclosure () -> String) throws(WireError) -> Int {
    guard let index else { throw WireError(.missingField, "missing \(path())") }
    return index
}
