// libFuzzer entry point over the wire decoders. Not part of the Swift package: built by
// packaging/dev/fuzz-wire.sh with swiftc -sanitize=fuzzer,address together with the
// sources of Common/Wire (Payload, Messages, Topics, Identity/DeviceID.swift), and run for a bounded
// time by `make test`.

/// The first byte picks the message type (and whether the topic names a device); the rest
/// is the payload. Any input must decode or throw a ``WireError`` (typed throws: its code is
/// one of the documented ones); a decoded message must survive encode → decode unchanged.
/// Telemetry is also decoded through the `JSONDecoder` reference path: the direct decoder
/// must give the same batch or the same code. A crash, a sanitizer report, a hang, a failed
/// round trip or a disagreement is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func wireFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let device = selector & 0x80 == 0 ? DeviceID("meter-0042") : nil
    let nowMs: Int64 = 1_763_800_000_000
    switch selector & 0x07 {
    case 0:
        roundTrip(TelemetryBatch.self, payload, device, nowMs)
        compareWithReference(payload, device, nowMs)
    case 1: roundTrip(DeviceState.self, payload, device, nowMs)
    case 2: roundTrip(DeviceEvent.self, payload, device, nowMs)
    case 3: roundTrip(CommandResult.self, payload, device, nowMs)
    case 4: roundTrip(Command.self, payload, device, nowMs)
    case 5: roundTrip(Ack.self, payload, device, nowMs)
    default: _ = try? Topic(parsing: String(decoding: payload, as: UTF8.self))
    }
    return 0
}

private func roundTrip<M: WireMessage>(_ type: M.Type, _ payload: [UInt8], _ device: DeviceID?, _ nowMs: Int64) {
    let codec = WireCodec()
    let message: M
    do throws(WireError) {
        message = try codec.decode(M.self, from: payload, topicDevice: device, nowMs: nowMs)
    } catch {
        return
    }
    guard let encoded = try? codec.encode(message) else { fatalError("\(M.self) decoded but does not encode") }
    guard let again = try? codec.decode(M.self, from: encoded, topicDevice: device, nowMs: nowMs), again == message else {
        fatalError("\(M.self) does not survive encode → decode: \(String(decoding: encoded, as: UTF8.self))")
    }
}

private func compareWithReference(_ payload: [UInt8], _ device: DeviceID?, _ nowMs: Int64) {
    func outcome(directly: Bool) -> Result<TelemetryBatch, WireError> {
        Result { () throws(WireError) in
            try WireCodec().decode(TelemetryBatch.self, from: payload, topicDevice: device, nowMs: nowMs, directly: directly)
        }
    }
    let direct = outcome(directly: true)
    var reference = outcome(directly: false)
    if case .success = direct, case .failure(let error) = reference, error.code == .malformedJSON {
        // JSONDecoder refuses a number whose integer part is 0 followed by an exponent (`0e9`,
        // `-0E1`), which RFC 8259 allows and the direct decoder reads; compare with it spelled `0.0e9`.
        let spelled = zeroExponentsWithFraction(payload)
        reference = Result { () throws(WireError) in
            try WireCodec().decode(TelemetryBatch.self, from: spelled, topicDevice: device, nowMs: nowMs, directly: false)
        }
    }
    switch (direct, reference) {
    case (.success(let a), .success(let b)) where a == b && a.readings.map(\.value.bitPattern) == b.readings.map(\.value.bitPattern):
        return
    case (.failure(let a), .failure(let b)) where a.code == b.code:
        return
    default:
        fatalError("direct decoder \(direct) but JSONDecoder \(reference) for \(String(decoding: payload, as: UTF8.self))")
    }
}

/// `payload` (already scanned as well-formed JSON) with `.0` after every `0` that is a number's
/// whole integer part and is followed by an exponent; string contents are left alone.
private func zeroExponentsWithFraction(_ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(payload.count + 8)
    var inString = false, escaped = false
    for (index, byte) in payload.enumerated() {
        out.append(byte)
        if inString {
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            continue
        }
        if byte == UInt8(ascii: "\"") { inString = true; continue }
        guard byte == UInt8(ascii: "0"), index + 1 < payload.count, payload[index + 1] | 0x20 == UInt8(ascii: "e") else { continue }
        let previous = index > 0 ? payload[index - 1] : 0
        if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(previous) || previous == UInt8(ascii: ".") { continue }
        out.append(contentsOf: Array(".0".utf8))
    }
    return out
}
