import Foundation
import OutpostSupport
import Testing
@testable import OutpostWire

/// ``JSONMembers`` against `JSONDecoder` into a `JSONValue` (what the live-event relay used
/// before) on the vector files, live events with hostile spellings and byte-level mutations:
/// the same strings for every input the scanner accepts, the scanner's code for the rest.
@Suite("JSON members read without a decoder")
struct JSONMembersTests {
    static let scanner = JSONScanner(maxBytes: 8000, maxDepth: 8)
    static let names: [StaticString] = ["type", "device"]

    enum Outcome: Equatable {
        case read([String?])
        case refused(String)
    }

    static func direct(_ bytes: [UInt8]) -> Outcome {
        do throws(WireError) {
            return .read(try JSONMembers.strings(names, in: bytes, scanner: scanner))
        } catch {
            return .refused(error.code.rawValue)
        }
    }

    static func reference(_ bytes: [UInt8]) -> Outcome? {
        do throws(WireError) {
            try scanner.scan(bytes)
        } catch {
            return .refused(error.code.rawValue)
        }
        // JSONDecoder also refuses a number past Double's range (`1e999`); the members are read
        // as strings only, so such an input is not compared (nil).
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
        guard case .object = value else { return .refused(WireErrorCode.wrongType.rawValue) }
        return .read([value["type"]?.stringValue, value["device"]?.stringValue])
    }

    static func event(_ random: inout JSONScannerTests.SplitMix64) -> [UInt8] {
        let strings = [#""device.status""#, #""meter-0001""#, #""dev\u0069ce""#, #""\ud83d\ude00""#, #""a\"b\\c""#, #""""#, #""\u00e9t\u00e9""#]
        let others = ["1", "-2.5e3", "null", "true", "[]", "{}", #"{"type":"inner","device":"x"}"#, #"["type","device"]"#]
        let keys = [#""type""#, #""device""#, #""ty\u0070e""#, #""devic\u0065""#, #""id""#, #""status""#, #""at""#, #""Type""#]
        var members: [String] = []
        var used = Set<String>()
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let key = keys.randomElement(using: &random)!
            // An escaped key equals its plain spelling: the scanner refuses such duplicates either way.
            let value = Bool.random(using: &random) ? strings.randomElement(using: &random)! : others.randomElement(using: &random)!
            if used.insert(key).inserted { members.append("\(key)\(Bool.random(using: &random) ? " : " : ":")\(value)") }
        }
        return Array("{\(members.joined(separator: ","))}".utf8)
    }

    @Test("events with hostile spellings, the vector files and their mutations read the same strings or the scanner's code")
    func agreement() throws {
        var random = JSONScannerTests.SplitMix64(state: 7)
        let events = (0..<3_000).map { _ in Self.event(&random) }
        let seeds = try DirectDecoderTests.vectorInputs() + events.prefix(300)
        let inputs = events + seeds + (0..<4_000).map { _ in JSONScannerTests.mutate(seeds.randomElement(using: &random)!, &random) }
        let disagreements = inputs.filter { input in Self.reference(input).map { $0 != Self.direct(input) } ?? false }
        #expect(disagreements.prefix(3).map { String(decoding: $0, as: UTF8.self) } == [])
        // Both sides are exercised: events with both strings, and refusals.
        #expect(inputs.filter { if case .read(let values) = Self.direct($0) { values.allSatisfy { $0 != nil } } else { false } }.count > 100)
        #expect(inputs.filter { if case .refused = Self.direct($0) { true } else { false } }.count > 500)
    }

    @Test("codes: not an object, malformed, too large, text PostgreSQL cannot store")
    func codes() {
        #expect(Self.direct(Array(#"["type"]"#.utf8)) == .refused("wrong_type"))
        #expect(Self.direct(Array(#""type""#.utf8)) == .refused("wrong_type"))
        #expect(Self.direct(Array(#"{"type":"a""#.utf8)) == .refused("malformed_json"))
        #expect(Self.direct(Array(#"{"type":"a","type":"b"}"#.utf8)) == .refused("malformed_json"))
        #expect(Self.direct(Array(#"{"type":"a\u0000"}"#.utf8)) == .refused("invalid_text"))
        #expect(Self.direct(Array(("{\"type\":\"" + String(repeating: "x", count: 8000) + "\"}").utf8)) == .refused("payload_too_large"))
        #expect(Self.direct(Array(#" {"device" : "d", "type" : "t"} "#.utf8)) == .read(["t", "d"]))
    }
}
