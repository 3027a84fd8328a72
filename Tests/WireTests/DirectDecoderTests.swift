import Foundation
import Testing
@testable import OutpostWire

/// The direct ``TelemetryBatch`` decoder (``JSONReader``) against the `JSONDecoder` path it
/// replaced, on the same inputs: the vector files, generated batches whose fields take
/// hostile spellings, and byte-level mutations of both. Each input must give the same
/// batch (values compared bit for bit) or the same error code.
@Suite("Direct decoder equals the JSONDecoder path")
struct DirectDecoderTests {
    let codec = WireCodec()
    static let device = DeviceID("meter-0042")!

    enum Outcome: Equatable, CustomStringConvertible {
        case decoded(TelemetryBatch, valueBits: [UInt64])
        case refused(String)

        var description: String {
            switch self {
            case .decoded(let batch, _): "decoded \(batch)"
            case .refused(let code): "refused \(code)"
            }
        }
    }

    func outcome(_ bytes: [UInt8], directly: Bool, topicDevice: DeviceID? = device) -> Outcome {
        do throws(WireError) {
            let batch = try codec.decode(TelemetryBatch.self, from: bytes, topicDevice: topicDevice, nowMs: fixedNowMs, directly: directly)
            return .decoded(batch, valueBits: batch.readings.map(\.value.bitPattern))
        } catch {
            return .refused(error.code.rawValue)
        }
    }

    /// Returns a description of the first input the two decoders disagree on, if any.
    func firstDisagreement(_ inputs: [[UInt8]], topicDevice: DeviceID? = device) -> String? {
        for input in inputs {
            let direct = outcome(input, directly: true, topicDevice: topicDevice)
            let reference = outcome(input, directly: false, topicDevice: topicDevice)
            if direct != reference {
                return "\(String(decoding: input, as: UTF8.self).prefix(400).debugDescription): direct \(direct), JSONDecoder \(reference)"
            }
        }
        return nil
    }

    static func vectorInputs() throws -> [[UInt8]] {
        var inputs: [[UInt8]] = []
        for name in ["telemetry", "ack", "ack-pressure", "command", "command-result-ok", "command-result-error", "event", "state-online", "state-offline"] {
            inputs.append(Array(try WireCodecTests.vector("valid/\(name).json")))
        }
        inputs += WireCodecTests.badCases.map(\.bytes)
        inputs += JSONScannerTests.cases.map(\.bytes)
        return inputs
    }

    @Test("every vector file decodes to the same batch or the same code")
    func vectorFiles() throws {
        let inputs = try Self.vectorInputs()
        #expect(inputs.count >= 110)
        #expect(firstDisagreement(inputs) == nil)
        #expect(firstDisagreement(inputs, topicDevice: nil) == nil)
        // The documented example decodes, so the comparison above covered a success too.
        #expect(outcome(inputs[0], directly: true) == outcome(inputs[0], directly: false))
        if case .refused = outcome(inputs[0], directly: true) { Issue.record("the documented telemetry example was refused") }
    }

    /// Spellings of a JSON value chosen for where decoders differ: integers written as
    /// floats, the edges of Int64 and Double, escapes, wrong kinds, null.
    static let numbers = [
        "1", "0", "-0", "1.0", "1e0", "1E2", "1e+2", "100e-2", "1.5", "-1", "0.1e1", "2", "2.0",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "9007199254740993", "9007199254740993.0", "9.007199254740993e15", "1e19", "12345678901234567890e-3",
        "1763800000000", "1763800000000.0", "1.7638e12", "1577836799999", "1853800100001", "99999999999999999999",
        "1234.5", "230.1", "0.14285714285714285", "3.141592653589793", "-2.5e-3", "1e308", "1.7976931348623157e308",
        "1.7976931348623159e308", "1e999", "-1e999", "1e-999", "0e-999", "0e999", "4.9e-324", "2.4e-324", "2.5e-324",
        "1e-310", "2.2250738585072014e-308", "123456789012345678901234567890", "0.000000000000000000001",
        "1e22", "1e23", "9007199254740992e22", "123456789012345e-22", "1.00000000000000011102230246251565404236316680908203125",
    ]
    static let strings = [
        #""meter-0042""#, #""meter-0043""#, #""m\u0065ter-0042""#, #""Meter-0042""#, #""-meter""#, #""""#,
        #""9f3c2a7b11d04e58""#, #""9F3C2A7B11D04E58""#, #""9f3c2a7b11d04e5""#, #""\u0039f3c2a7b11d04e58""#,
        #""power_w""#, #""p\u006fwer_w""#, #""Power""#, #""temp.c_1""#, #""é""#, #""a\nb""#, #""\ud83d\ude00""#,
        "\"" + String(repeating: "a", count: 65) + "\"", "\"" + String(repeating: "a", count: 64) + "\"",
    ]
    static let others = ["null", "true", "false", "[]", "{}", "[1]", #"{"a":1}"#, #"[[[]]]"#]

    static func anyValue(_ random: inout JSONScannerTests.SplitMix64) -> String {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: numbers.randomElement(using: &random)!
        case 1: strings.randomElement(using: &random)!
        default: others.randomElement(using: &random)!
        }
    }

    /// A value for a field: usually a good one, sometimes anything from the pools.
    static func field(_ good: String, _ random: inout JSONScannerTests.SplitMix64) -> String {
        Int.random(in: 0..<30, using: &random) == 0 ? anyValue(&random) : good
    }

    static func key(_ name: String, _ random: inout JSONScannerTests.SplitMix64) -> String {
        switch Int.random(in: 0..<30, using: &random) {
        case 0: "\"\\u\(String(format: "%04x", name.unicodeScalars.first!.value))\(name.dropFirst())\""
        case 1: "\"\(name.uppercased())\""
        default: "\"\(name)\""
        }
    }

    /// An object with the given members, some left out, an unknown one sometimes added, in random order.
    static func object(_ members: [(String, String)], _ random: inout JSONScannerTests.SplitMix64) -> String {
        var parts = members.compactMap { name, value in
            Int.random(in: 0..<80, using: &random) == 0 ? nil : "\(key(name, &random)):\(value)"
        }
        if Int.random(in: 0..<6, using: &random) == 0 { parts.append("\"extra\":\(anyValue(&random))") }
        if Int.random(in: 0..<4, using: &random) == 0 { parts.shuffle(using: &random) }
        let space = Int.random(in: 0..<5, using: &random) == 0 ? " \n" : ""
        return "{" + space + parts.joined(separator: "," + space) + space + "}"
    }

    static func reading(_ index: Int, _ random: inout JSONScannerTests.SplitMix64) -> String {
        if Int.random(in: 0..<80, using: &random) == 0 { return anyValue(&random) }
        let value = Double.random(in: -1e6...1e6, using: &random)
        let spelled = Int.random(in: 0..<3, using: &random) == 0 ? "\(value)" : String(format: "%.\(Int.random(in: 0...4, using: &random))f", value)
        return object([
            ("seq", field("\(index + 1)", &random)),
            ("ts", field("\(fixedNowMs - Int64(index))", &random)),
            ("metric", field(#""power_w""#, &random)),
            ("value", field(spelled, &random)),
        ], &random)
    }

    static func batch(_ random: inout JSONScannerTests.SplitMix64) -> [UInt8] {
        let count = Int.random(in: 0...6, using: &random)
        let readings = (0..<count).map { reading($0, &random) }
        let readingsValue = Int.random(in: 0..<20, using: &random) == 0 ? anyValue(&random) : "[" + readings.joined(separator: ",") + "]"
        return Array(object([
            ("v", Int.random(in: 0..<15, using: &random) == 0 ? numbers.randomElement(using: &random)! : field("1", &random)),
            ("device", field(#""meter-0042""#, &random)),
            ("buffer", field(#""9f3c2a7b11d04e58""#, &random)),
            ("readings", readingsValue),
        ], &random).utf8)
    }

    @Test("generated batches with hostile field spellings decode the same way", arguments: [1, 2, 3, 4])
    func generatedBatches(seed: UInt64) {
        var random = JSONScannerTests.SplitMix64(state: seed)
        let inputs = (0..<3_000).map { _ in Self.batch(&random) }
        let decoded = inputs.filter { if case .decoded = outcome($0, directly: true) { true } else { false } }.count
        // Both branches are exercised: some inputs decode, most are refused for some reason.
        #expect(decoded > 100 && decoded < inputs.count - 100, "decoded \(decoded) of \(inputs.count)")
        #expect(firstDisagreement(inputs) == nil, "seed \(seed)")
    }

    @Test("byte-level mutations of valid and generated payloads decode the same way", arguments: [11, 12])
    func mutatedPayloads(seed: UInt64) throws {
        var random = JSONScannerTests.SplitMix64(state: seed)
        let seeds = try Self.vectorInputs() + (0..<200).map { _ in Self.batch(&random) }
        let inputs = (0..<4_000).map { _ in JSONScannerTests.mutate(seeds.randomElement(using: &random)!, &random) }
        #expect(firstDisagreement(inputs) == nil, "seed \(seed)")
    }

    @Test("every number spelling reads into the same Int64 and Double as JSONDecoder")
    func numberSpellings() {
        var inputs: [[UInt8]] = []
        for number in Self.numbers {
            inputs.append(Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","readings":[{"seq":\#(number),"ts":1763800000000,"metric":"m","value":1}]}"#.utf8))
            inputs.append(Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","readings":[{"seq":1,"ts":\#(number),"metric":"m","value":1}]}"#.utf8))
            inputs.append(Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","readings":[{"seq":1,"ts":1763800000000,"metric":"m","value":\#(number)}]}"#.utf8))
            inputs.append(Array(#"{"v":\#(number),"device":"meter-0042","buffer":"9f3c2a7b11d04e58","readings":[]}"#.utf8))
        }
        var random = JSONScannerTests.SplitMix64(state: 99)
        for _ in 0..<3_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            let spelled = Int.random(in: 0..<2, using: &random) == 0 ? "\(value)" : String(format: "%.\(Int.random(in: 1...25, using: &random))g", value)
            inputs.append(Array(#"{"v":1,"device":"meter-0042","buffer":"9f3c2a7b11d04e58","readings":[{"seq":1,"ts":1763800000000,"metric":"m","value":\#(spelled)}]}"#.utf8))
        }
        #expect(firstDisagreement(inputs) == nil)
    }

    /// The strings (keys included) and numbers of a JSON text as spelled, sorted, and how many of each bracket.
    static func tokens(_ bytes: [UInt8]) -> [[UInt8]] {
        var tokens: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                while bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
                index += 1
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                while index < bytes.count, Array("-+.eE0123456789".utf8).contains(bytes[index]) { index += 1 }
            default:
                index += 1
            }
            tokens.append(Array(bytes[start..<index]))
        }
        return tokens.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test("the direct encoder spells every token as JSONEncoder does, for any batch, and refuses what it refuses")
    func encoderBytes() throws {
        var random = JSONScannerTests.SplitMix64(state: 7)
        let characters: [Character] = ["a", "_", ".", "\"", "\\", "/", "\n", "\t", "\r", "\u{8}", "\u{c}", "\u{0}", "\u{1}", "\u{1f}",
                                       "\u{7f}", "é", "\u{2028}", "😀", "7"]
        for _ in 0..<2_000 {
            let readings = (0..<Int.random(in: 1...8, using: &random)).map { _ in
                let value: Double = switch Int.random(in: 0..<4, using: &random) {
                case 0: Double(bitPattern: random.next())
                case 1: Double(Int.random(in: -1_000_000...1_000_000, using: &random))
                case 2: Double(Int.random(in: -100_000...100_000, using: &random)) / 10
                default: Double.random(in: -1e3...1e3, using: &random)
                }
                let metric = String((0..<Int.random(in: 0...6, using: &random)).map { _ in characters.randomElement(using: &random)! })
                return Reading(seq: Int64(bitPattern: random.next()), ts: Int64(bitPattern: random.next()), metric: metric, value: value)
            }
            let batch = TelemetryBatch(device: Self.device, buffer: BufferID(random.next()), readings: readings)
            let direct = Result { try codec.encode(batch) }
            let reference = Result { try codec.encodeThroughFoundation(batch) }
            switch (direct, reference) {
            case (.success(let a), .success(let b)):
                // JSONEncoder orders members by hash; every token must be spelled the same.
                #expect(Self.tokens(a) == Self.tokens(b), "direct \(String(decoding: a, as: UTF8.self)) JSONEncoder \(String(decoding: b, as: UTF8.self))")
                let decoded = try JSONDecoder().decode(TelemetryBatch.self, from: Data(a))
                #expect(decoded == batch && decoded.readings.map(\.value.bitPattern) == batch.readings.map(\.value.bitPattern))
                if Self.tokens(a) != Self.tokens(b) { return }
            case (.failure, .failure):
                #expect(batch.readings.contains { !$0.value.isFinite })
            default:
                Issue.record("one encoder refused \(batch), the other did not")
                return
            }
        }
        let encoded = try codec.encode(TelemetryBatch(device: Self.device, buffer: BufferID(1), readings: [
            Reading(seq: 1, ts: fixedNowMs, metric: "power_w", value: 1234.5),
            Reading(seq: 2, ts: fixedNowMs, metric: "energy_wh", value: 5_821_990),
        ]))
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"v":1,"device":"meter-0042","buffer":"0000000000000001","readings":[{"seq":1,"ts":1763800100000,"metric":"power_w","value":1234.5},{"seq":2,"ts":1763800100000,"metric":"energy_wh","value":5821990}]}"#)
    }
}
