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
    /// The readings are read where they stand in the payload (one pass over the bulk of it);
    /// their refusal, if any, is kept until the fields before them have been checked.
    static func decodeDirectly(from reader: JSONReader) throws(WireError) -> TelemetryBatch {
        let root = reader.skipWhitespace(from: 0)
        guard reader.kind(at: root) == .object else {
            throw WireError(.wrongType, "the payload is \(reader.describe(reader.kind(at: root))), expected an object")
        }
        var versionAt: Int?, deviceAt: Int?, bufferAt: Int?
        var readings: Result<[Reading], WireError>?
        try reader.forEachMember(ofObjectAt: root) { key, value -> Int? in
            if reader.key(key, is: "v") {
                versionAt = value
            } else if reader.key(key, is: "device") {
                deviceAt = value
            } else if reader.key(key, is: "buffer") {
                bufferAt = value
            } else if reader.key(key, is: "readings") {
                do throws(WireError) {
                    let (decoded, end) = try decodeReadings(from: reader, at: value)
                    readings = .success(decoded)
                    return end
                } catch {
                    readings = .failure(error)
                }
            }
            return nil
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
            guard let readings else { throw WireError(.missingField, "missing .readings") }
            var batch = TelemetryBatch(device: device, buffer: buffer, readings: try readings.get())
            batch.v = Int(version)
            return batch
        } catch {
            if let claimedVersion, claimedVersion != Int64(schemaVersion) {
                throw WireError(.unsupportedVersion, "version \(claimedVersion) is not \(schemaVersion)")
            }
            throw error
        }
    }

    /// The readings array at `index` and the index after it.
    private static func decodeReadings(from reader: JSONReader, at index: Int) throws(WireError) -> ([Reading], Int) {
        guard reader.kind(at: index) == .array else {
            throw WireError(.wrongType, ".readings is \(reader.describe(reader.kind(at: index))), expected an array")
        }
        var readings: [Reading] = []
        // A reading takes at least 40 bytes of JSON: enough room for most batches at once.
        readings.reserveCapacity(min(2_000, reader.bytes.count / 64))
        let end = try reader.forEachElement(ofArrayAt: index) { position, element throws(WireError) -> Int? in
            let (reading, end) = try Reading.decodeDirectly(from: reader, at: element, position: position)
            readings.append(reading)
            return end
        }
        return (readings, end)
    }
}

extension Reading {
    /// The reading at `index` and the index after it.
    static func decodeDirectly(from reader: JSONReader, at index: Int, position: Int) throws(WireError) -> (Reading, Int) {
        guard reader.kind(at: index) == .object else {
            throw WireError(.wrongType, ".readings[\(position)] is \(reader.describe(reader.kind(at: index))), expected an object")
        }
        var seqAt: Int?, tsAt: Int?, metricAt: Int?, valueAt: Int?
        let end = try reader.forEachMember(ofObjectAt: index) { key, value -> Int? in
            if reader.key(key, is: "seq") {
                seqAt = value
            } else if reader.key(key, is: "ts") {
                tsAt = value
            } else if reader.key(key, is: "metric") {
                metricAt = value
            } else if reader.key(key, is: "value") {
                valueAt = value
            }
            return nil
        }
        func path(_ field: String) -> String { ".readings[\(position)].\(field)" }
        let reading = Reading(
            seq: try reader.int64(at: required(seqAt, path("seq")), path: path("seq")),
            ts: try reader.int64(at: required(tsAt, path("ts")), path: path("ts")),
            metric: try reader.string(at: required(metricAt, path("metric")), path: path("metric")),
            value: try reader.double(at: required(valueAt, path("value")), path: path("value")))
        return (reading, end)
    }
}

private func required(_ index: Int?, _ path: @autoclosure () -> String) throws(WireError) -> Int {
    guard let index else { throw WireError(.missingField, "missing \(path())") }
    return index
}
