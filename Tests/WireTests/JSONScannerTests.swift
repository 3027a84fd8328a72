import Foundation
import Testing
@testable import OutpostWire

@Suite("JSON scanner")
struct JSONScannerTests {
    let scanner = JSONScanner(limits: .standard)

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var payload: String?
        var payloadHex: String?
        /// The refusal's code, or nil when the input is accepted.
        var code: String?
        var testDescription: String { name }
        var bytes: [UInt8] { payload.map { Array($0.utf8) } ?? JSONScannerTests.bytes(hex: payloadHex ?? "") }
    }

    static let cases: [Case] = {
        guard let data = try? WireCodecTests.vector("json-scanner.json") else { return [] }
        return (try? JSONDecoder().decode([Case].self, from: data)) ?? []
    }()

    @Test("the scanner table is loaded and covers each refusal")
    func tableIsLoaded() {
        #expect(Self.cases.count >= 50)
        let codes = Set(Self.cases.compactMap(\.code))
        #expect(codes == ["malformed_json", "invalid_text", "nesting_too_deep"])
    }

    @Test("each vector is accepted or refused with its code", arguments: cases)
    func vector(_ vector: Case) {
        do throws(WireError) {
            try scanner.scan(vector.bytes)
            #expect(vector.code == nil, "\(vector.name): accepted, expected \(vector.code ?? "")")
        } catch {
            #expect(error.code.rawValue == vector.code, "\(vector.name): \(error)")
        }
    }

    @Test("a payload over the cap is refused before it is read")
    func sizeCap() {
        let scanner = JSONScanner(maxBytes: 10, maxDepth: 4)
        #expect(throws: WireError(.payloadTooLarge, "")) { try scanner.scan(Array("[1,2,3,4,5,6]".utf8)) }
        #expect(throws: Never.self) { try scanner.scan(Array("[1,2,3,4]".utf8)) }
    }

    @Test("the depth limit counts every container, arrays and objects alike")
    func depthLimit() throws {
        let scanner = JSONScanner(maxBytes: 1_000, maxDepth: 3)
        try scanner.scan(Array(#"{"a":[{"b":1}]}"#.utf8))
        #expect(throws: WireError(.nestingTooDeep, "")) { try scanner.scan(Array(#"{"a":[{"b":[]}]}"#.utf8)) }
        // Depth is released when a container closes: siblings do not add up.
        try scanner.scan(Array(#"[[[1]],[[2]],[[3]]]"#.utf8))
    }

    @Test("a payload of nothing but opening brackets is refused at the limit, not parsed")
    func hostileNesting() {
        // 256 KiB of '[' would cost the recursive decoder far more than one pass.
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: WireLimits.standard.maxPayloadBytes)
        let error = #expect(throws: WireError.self) { try scanner.scan(bytes) }
        #expect(error?.code == .nestingTooDeep)
        #expect(error?.context.contains("byte 18") == true)
    }

    @Test("duplicate keys compare after unescaping, per object")
    func duplicateKeys() throws {
        #expect(throws: WireError(.malformedJSON, "")) { try scanner.scan(Array(#"{"é":1,"\u00e9":2}"#.utf8)) }
        #expect(throws: WireError(.malformedJSON, "")) { try scanner.scan(Array(#"{"\ud83d\ude00":1,"😀":2}"#.utf8)) }
        try scanner.scan(Array(#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#.utf8))
        try scanner.scan(Array(#"{"a":1,"A":2,"a ":3}"#.utf8))
    }

    @Test("keys are compared in place while an object has few and hashed past 16: a repeat is found either way")
    func manyKeys() throws {
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }
        try scanner.scan(Array(("{" + keys.joined(separator: ",") + "}").utf8))
        for repeated in [#""k3":1"#, #""\u006b3":1"#, #""k39":1"#, #""k\u0032\u0035":1"#] {
            #expect(throws: WireError(.malformedJSON, ""), "\(repeated)") {
                try scanner.scan(Array(("{" + keys.joined(separator: ",") + "," + repeated + "}").utf8))
            }
        }
        for repeated in [#""k3":1"#, #""\u006b3":1"#, #""k4":1"#, #""k\u0034":1"#] {
            #expect(throws: WireError(.malformedJSON, ""), "\(repeated) among few keys") {
                try scanner.scan(Array(("{" + keys.prefix(5).joined(separator: ",") + "," + repeated + "}").utf8))
            }
        }
        // Each object has its own keys, however deep, before and after the limit.
        try scanner.scan(Array(("{" + keys.joined(separator: ",") + #","x":{"k3":1,"x":{"k3":2}},"y":[{"k3":1},{"k3":2}]}"#).utf8))
    }

    @Test("a non-contiguous collection is scanned the same way")
    func nonContiguous() {
        let bytes = Array(#"{"s":"\u0000"}"#.utf8)
        #expect(throws: WireError(.invalidText, "")) { try scanner.scan(bytes.lazy.map { $0 }) }
    }

    /// A small deterministic generator, so a failing run can be replayed from its seed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476C_E5B9_1CE5
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Bytes that matter to a JSON reader: structure, escapes, UTF-8 lead and continuation bytes, NUL.
    static let interesting: [[UInt8]] = [
        [0x22], [0x5C], [0x7B], [0x7D], [0x5B], [0x5D], [0x2C], [0x3A], [0x00], [0xFF], [0xC3], [0xED, 0xA0, 0x80],
        [0x80], Array(#"\u0000"#.utf8), Array(#"\ud800"#.utf8), Array(#"\udc00"#.utf8), Array("1e999".utf8),
        Array("-0.0e+1".utf8), Array("null".utf8), Array(#""v":2,"#.utf8), Array(#""seq":"#.utf8), Array("[[[[[[[[[[".utf8),
    ]

    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty: bytes.remove(at: position)
            case 2: bytes.insert(contentsOf: interesting.randomElement(using: &random)!, at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            default: bytes.removeLast(min(bytes.count, Int.random(in: 0...8, using: &random)))
            }
        }
        return bytes
    }

    /// Every code `docs/protocol.md` documents, read from its error-code table.
    static let documentedCodes: Set<String> = {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/protocol.md")
        guard let text = try? String(contentsOf: docs, encoding: .utf8) else { return [] }
        var codes: Set<String> = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.split(separator: "|").first ?? ""
            for part in firstCell.split(separator: "`") where part.allSatisfy({ $0.isLowercase || $0 == "_" }) && !part.isEmpty {
                codes.insert(String(part))
            }
        }
        return codes
    }()

    /// Property-based fuzzing over every wire decoder: mutated valid messages either
    /// decode or are refused with a documented code, and whatever the scanner accepts is
    /// JSON that Foundation's parser accepts too. Bounded in count (`OUTPOST_FUZZ_ITERATIONS`
    /// per seed message, default 4,000); the seed is `OUTPOST_FUZZ_SEED` (default 14).
    @Test("fuzz: mutated messages decode or yield a documented code")
    func fuzzDecoders() throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["OUTPOST_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 4_000
        var random = SplitMix64(state: environment["OUTPOST_FUZZ_SEED"].flatMap(UInt64.init) ?? 14)
        #expect(Self.documentedCodes.count >= 20)
        let codec = WireCodec()
        let device = DeviceID("meter-0042")!
        let camera = DeviceID("cam-0007")!
        let seeds: [(String, Topic.Kind, DeviceID?)] = [
            ("valid/telemetry.json", .telemetry, device), ("valid/ack.json", .ack, device), ("valid/ack-pressure.json", .ack, device),
            ("valid/command.json", .cmd, nil),
            ("valid/command-result-ok.json", .cmdResult, nil), ("valid/command-result-error.json", .cmdResult, nil),
            ("valid/state-online.json", .state, device), ("valid/event.json", .events, camera),
        ]
        var refusals: [String: Int] = [:]
        for (file, kind, topicDevice) in seeds {
            let original = Array(try WireCodecTests.vector(file))
            for _ in 0..<iterations {
                let input = Self.mutate(original, &random)
                var scanned = true
                do { try scanner.scan(input) } catch { scanned = false }
                if scanned {
                    let parsed = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
                    #expect(parsed != nil || input.contains(UInt8(ascii: "e")) || input.contains(UInt8(ascii: "E")),
                            "scanner accepted what Foundation refuses: \(input.map { String(format: "%02x", $0) }.joined())")
                }
                do throws(WireError) {
                    try Self.decode(codec, kind, input, topicDevice)
                    #expect(scanned, "decoded what the scanner refused")
                } catch {
                    refusals[error.code.rawValue, default: 0] += 1
                    #expect(Self.documentedCodes.contains(error.code.rawValue),
                            "undocumented code \(error.code) for \(input.map { String(format: "%02x", $0) }.joined())")
                }
            }
        }
        // The mutations reach the refusals this issue added, not only syntax errors.
        #expect((refusals["invalid_text"] ?? 0) > 0)
        #expect((refusals["malformed_json"] ?? 0) > 0)
    }

    static func decode(_ codec: WireCodec, _ kind: Topic.Kind, _ bytes: [UInt8], _ device: DeviceID?) throws(WireError) {
        switch kind {
        case .telemetry: _ = try codec.decode(TelemetryBatch.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .ack: _ = try codec.decode(Ack.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .cmd: _ = try codec.decode(Command.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .cmdResult: _ = try codec.decode(CommandResult.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .state: _ = try codec.decode(DeviceState.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        case .events: _ = try codec.decode(DeviceEvent.self, from: bytes, topicDevice: device, nowMs: fixedNowMs)
        }
    }
}
