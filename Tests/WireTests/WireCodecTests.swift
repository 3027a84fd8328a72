import Foundation
import Testing
@testable import OutpostWire

/// A fixed clock for timestamp checks: 2025-11-22T08:28:20Z.
let fixedNowMs: Int64 = 1_763_800_100_000

@Suite("Wire codec")
struct WireCodecTests {
    let codec = WireCodec()

    static func vector(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Vectors/\(name)", withExtension: nil))
        return try Data(contentsOf: url)
    }

    @Test("documented examples decode and round-trip byte-for-byte through the codec")
    func validVectorsRoundTrip() throws {
        let device = DeviceID("meter-0042")!
        let camera = DeviceID("cam-0007")!
        try roundTrip(TelemetryBatch.self, "valid/telemetry.json", device)
        try roundTrip(Ack.self, "valid/ack.json", device)
        try roundTrip(Ack.self, "valid/ack-pressure.json", device)
        try roundTrip(Command.self, "valid/command.json", nil)
        try roundTrip(CommandResult.self, "valid/command-result-ok.json", nil)
        try roundTrip(CommandResult.self, "valid/command-result-error.json", nil)
        try roundTrip(DeviceState.self, "valid/state-online.json", device)
        try roundTrip(DeviceState.self, "valid/state-offline.json", device)
        try roundTrip(DeviceEvent.self, "valid/event.json", camera)
    }

    private func roundTrip<M: WireMessage>(_ type: M.Type, _ vector: String, _ device: DeviceID?) throws {
        let bytes = Array(try Self.vector(vector))
        let decoded = try codec.decode(M.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        let again = try codec.decode(M.self, from: try codec.encode(decoded), topicDevice: device, nowMs: fixedNowMs)
        #expect(again == decoded, "\(vector) changed in a round trip")
    }

    @Test("decoded values are exactly those of the example")
    func telemetryValues() throws {
        let batch = try codec.decode(
            TelemetryBatch.self, from: Array(try Self.vector("valid/telemetry.json")), topicDevice: DeviceID("meter-0042"),
            nowMs: fixedNowMs)
        #expect(batch.buffer == BufferID(0x9f3c_2a7b_11d0_4e58))
        #expect(batch.readings.map(\.seq) == [1201, 1202, 1203])
        #expect(batch.readings[0] == Reading(seq: 1201, ts: 1_763_800_000_000, metric: "power_w", value: 1234.5))
        #expect(batch.readings[2].value == 5_821_990)
    }

    @Test("every constructed message round-trips")
    func constructedMessagesRoundTrip() throws {
        let device = DeviceID("m-1")!
        let buffer = BufferID(UInt64.max)
        let batch = TelemetryBatch(device: device, buffer: buffer, readings: (1...500).map {
            Reading(seq: Int64($0), ts: fixedNowMs - Int64($0), metric: "temp_c", value: Double($0) / 7)
        })
        #expect(try codec.decode(TelemetryBatch.self, from: codec.encode(batch), topicDevice: device, nowMs: fixedNowMs) == batch)
        let ack = Ack(device: device, buffer: buffer, ranges: [SeqRange(1, 500)])
        #expect(try codec.decode(Ack.self, from: codec.encode(ack), topicDevice: device, nowMs: fixedNowMs) == ack)
        let command = Command(id: "abc_123-XYZ", name: "start_stream", args: ["host": "10.0.0.5", "port": 5004, "mux": true],
                              expiresAt: fixedNowMs + 60_000)
        #expect(try codec.decode(Command.self, from: codec.encode(command), nowMs: fixedNowMs) == command)
        let result = CommandResult.success(id: "abc_123-XYZ", output: ["sdp": "v=0\r\n"])
        #expect(try codec.decode(CommandResult.self, from: codec.encode(result), nowMs: fixedNowMs) == result)
        let state = DeviceState(device: device, status: .online, ts: fixedNowMs, version: "0.1.0", bufferDepth: 3,
                                oldestUnackedAgeMs: 10, dropped: 0, certSerial: "7f3a0c", certNotAfter: fixedNowMs + 86_400_000)
        #expect(try codec.decode(DeviceState.self, from: codec.encode(state), topicDevice: device, nowMs: fixedNowMs) == state)
        // An older agent's state, without the certificate fields, still decodes.
        let older = Array(#"{"v":1,"device":"m-1","status":"online","ts":\#(fixedNowMs),"version":"0.1.0"}"#.utf8)
        let decodedOlder = try codec.decode(DeviceState.self, from: older, topicDevice: device, nowMs: fixedNowMs)
        #expect(decodedOlder.certSerial == nil && decodedOlder.certNotAfter == nil)
        let event = DeviceEvent(device: device, ts: fixedNowMs, kind: DeviceEvent.Kind.bufferDropped, data: ["count": 12])
        #expect(try codec.decode(DeviceEvent.self, from: codec.encode(event), topicDevice: device, nowMs: fixedNowMs) == event)
    }

    @Test("an ack's pressure: optional, omitted when nil, 0...1 read as sent, null read as no signal")
    func ackPressure() throws {
        let device = DeviceID("meter-0042")!
        let signalled = try codec.decode(Ack.self, from: Array(try Self.vector("valid/ack-pressure.json")), topicDevice: device, nowMs: fixedNowMs)
        #expect(signalled.pressure == 0.37 && signalled.ranges == [SeqRange(1201, 1203), SeqRange(1210, 1210)])
        let older = try codec.decode(Ack.self, from: Array(try Self.vector("valid/ack.json")), topicDevice: device, nowMs: fixedNowMs)
        #expect(older.pressure == nil, "an older centre's ack carries no signal")
        let plain = Ack(device: device, buffer: BufferID(1), ranges: [SeqRange(1, 5)])
        #expect(!String(decoding: try codec.encode(plain), as: UTF8.self).contains("pressure"), "no field without a signal: older centres' bytes")
        for pressure in [0.0, 0.01, 0.5, 1.0] {
            let ack = Ack(device: device, buffer: BufferID(1), ranges: [SeqRange(1, 5)], pressure: pressure)
            #expect(try codec.decode(Ack.self, from: codec.encode(ack), topicDevice: device, nowMs: fixedNowMs) == ack)
        }
        let null = Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","ranges":[[1,2]],"pressure":null}"#.utf8)
        #expect(try codec.decode(Ack.self, from: null, topicDevice: device, nowMs: fixedNowMs).pressure == nil)
        let negativeZero = Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","ranges":[[1,2]],"pressure":-0}"#.utf8)
        #expect(try codec.decode(Ack.self, from: negativeZero, topicDevice: device, nowMs: fixedNowMs).pressure == 0)
        let forged = Ack(device: device, buffer: BufferID(1), ranges: [SeqRange(1, 5)], pressure: 2)
        #expect(throws: WireError(.invalidPressure, "")) {
            try codec.decode(Ack.self, from: try codec.encode(forged), topicDevice: device, nowMs: fixedNowMs)
        }
    }

    struct BadCase: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var topic: String
        var topicDevice: String?
        var payload: String?
        /// Bytes that are not valid UTF-8 cannot be a JSON string: such payloads are given in hex.
        var payloadHex: String?
        var code: String
        var testDescription: String { name }

        var bytes: [UInt8] { payload.map { Array($0.utf8) } ?? JSONScannerTests.bytes(hex: payloadHex ?? "") }
    }

    static let badCases: [BadCase] = {
        guard let data = try? vector("bad-payloads.json") else { return [] }
        return (try? JSONDecoder().decode([BadCase].self, from: data)) ?? []
    }()

    @Test("the bad-payload table is loaded and large")
    func badTableIsLarge() {
        #expect(Self.badCases.count >= 50)
    }

    @Test("each bad payload is refused with its code", arguments: badCases)
    func badPayloadRefused(_ bad: BadCase) throws {
        let kind = try #require(Topic.Kind(rawValue: bad.topic))
        let bytes = bad.bytes
        let device = bad.topicDevice.flatMap(DeviceID.init)
        let error = #expect(throws: WireError.self) { try self.decode(kind, bytes, device) }
        #expect(error?.code.rawValue == bad.code, "\(bad.name): got \(String(describing: error))")
    }

    private func decode(_ kind: Topic.Kind, _ bytes: [UInt8], _ device: DeviceID?) throws {
        switch kind {
        case .telemetry: _ = try codec.decode(TelemetryBatch.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .ack: _ = try codec.decode(Ack.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .cmd: _ = try codec.decode(Command.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .cmdResult: _ = try codec.decode(CommandResult.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .state: _ = try codec.decode(DeviceState.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .events: _ = try codec.decode(DeviceEvent.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        }
    }

    @Test("an oversize payload is refused before parsing")
    func oversizePayload() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: WireLimits.standard.maxPayloadBytes + 1)
        #expect(throws: WireError(.payloadTooLarge, "")) {
            try codec.decode(TelemetryBatch.self, from: bytes, nowMs: fixedNowMs)
        }
    }

    @Test("a batch over the reading cap is refused")
    func oversizeBatch() throws {
        let device = DeviceID("m-1")!
        let limits = WireLimits(maxReadingsPerBatch: 10)
        let batch = TelemetryBatch(device: device, buffer: BufferID(1), readings: (1...11).map {
            Reading(seq: Int64($0), ts: fixedNowMs, metric: "power_w", value: 1)
        })
        let bytes = try WireCodec().encode(batch)
        #expect(throws: WireError(.batchTooLarge, "")) {
            try WireCodec(limits: limits).decode(TelemetryBatch.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        }
    }

    @Test("too many ack ranges are refused")
    func tooManyRanges() throws {
        let device = DeviceID("m-1")!
        let ack = Ack(device: device, buffer: BufferID(1), ranges: stride(from: 1, to: 40, by: 2).map { SeqRange(Int64($0), Int64($0)) })
        #expect(throws: WireError(.tooManyRanges, "")) {
            try WireCodec(limits: WireLimits(maxAckRanges: 5)).decode(Ack.self, from: try WireCodec().encode(ack), nowMs: fixedNowMs)
        }
    }

    @Test("seq ranges coalesce out-of-order and duplicate seqs")
    func rangesCoalesce() {
        #expect(SeqRange.ranges(covering: [5, 3, 4, 9, 1, 3, 10, 12]) == [SeqRange(1, 1), SeqRange(3, 5), SeqRange(9, 10), SeqRange(12, 12)])
        #expect(SeqRange.ranges(covering: []) == [])
        #expect(SeqRange(3, 5).count == 3)
    }

    @Test("device ids follow the pattern", arguments: [
        ("a", true), ("meter-1", true), ("0abc", true), (String(repeating: "a", count: 63), true),
        ("", false), ("-a", false), ("A", false), ("a_b", false), ("a.b", false), ("a/b", false), ("a+", false),
        (String(repeating: "a", count: 64), false), ("é", false),
    ])
    func deviceIDs(_ candidate: String, _ valid: Bool) {
        #expect((DeviceID(candidate) != nil) == valid)
    }

    @Test("buffer ids are 16 lower-case hex digits and keep their bits in a bigint")
    func bufferIDs() {
        #expect(BufferID(hex: "00000000000000ff")?.rawValue == 255)
        #expect(BufferID(hex: "00000000000000FF") == nil)
        #expect(BufferID(hex: "ff") == nil)
        let id = BufferID(0xffff_ffff_ffff_fff0)
        #expect(id.signedBitPattern == -16)
        #expect(BufferID(signedBitPattern: id.signedBitPattern) == id)
        #expect(BufferID(hex: id.hex) == id)
    }
}
