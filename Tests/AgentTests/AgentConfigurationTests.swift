import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostSupport

@Suite("Agent configuration")
struct AgentConfigurationTests {
    @Test("the sample config in packaging/ loads, and the device id is validated")
    func sampleConfigLoads() throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../packaging/agent.sample.json").path
        let loaded = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: sample)
        #expect(loaded.deviceID.rawValue == "meter-0001")
        #expect(loaded.mqtt.port == 8883)
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: ["OUTPOST_DEVICE_ID": "Bad_Id"]).load(AgentConfiguration.self, path: sample)
        }
        #expect(error?.key == "device_id")
        #expect(loaded.sources.map(\.type) == [.meter, .system, .file, .exec])
        #expect(loaded.sources[3].command == ["/usr/local/bin/ups-status", "--json"])
        #expect(loaded.buffer == BufferSettings())
        #expect(loaded.publisher == PublisherSettings())
    }

    static let base: JSONValue = [
        "device_id": "meter-1",
        "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.key"],
    ]

    static func load(_ extra: [String: JSONValue]) throws(ConfigError) -> AgentConfiguration {
        guard case .object(var members) = base else { fatalError() }
        for (key, value) in extra { members[key] = value }
        return try ConfigLoader(environment: [:]).decode(AgentConfiguration.self, from: .object(members))
    }

    @Test("sources are checked per type, naming the key", arguments: [
        (JSONValue.array([["type": "exec", "name": "x"]]), "sources[0].command", ConfigError.Code.missingKey),
        (.array([["type": "exec", "command": ["relative/tool"]]]), "sources[0].command", .missingKey),
        (.array([["type": "meter", "command": ["/bin/true"]]]), "sources[0].command", .unknownKey),
        (.array([["type": "file"]]), "sources[0].path", .missingKey),
        (.array([["type": "meter", "interval_s": 0]]), "sources[0].interval_s", .invalidValue),
        (.array([["type": "meter", "kind": "three-phase"]]), "sources[0].kind", .invalidValue),
        (.array([["type": "meter"], ["type": "meter"]]), "sources[1].name", .invalidValue),
        (.array([["type": "meter", "colour": "red"]]), "sources[0].colour", .unknownKey),
    ])
    func sourceErrors(sources: JSONValue, key: String, code: ConfigError.Code) {
        let error = #expect(throws: ConfigError.self) { try Self.load(["sources": sources]) }
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.code == code, "\(String(describing: error))")
    }

    @Test("buffer and publisher settings are range-checked")
    func settingsRanges() {
        #expect((#expect(throws: ConfigError.self) { try Self.load(["buffer": ["max_rows": 1]]) })?.key == "buffer.max_rows")
        #expect((#expect(throws: ConfigError.self) { try Self.load(["buffer": ["synchronous": "off"]]) })?.key == "buffer.synchronous")
        #expect((#expect(throws: ConfigError.self) { try Self.load(["publisher": ["batch_size": 5_000]]) })?.key == "publisher.batch_size")
        #expect((#expect(throws: ConfigError.self) { try Self.load(["publisher": ["window": 0]]) })?.key == "publisher.window")
        #expect((#expect(throws: ConfigError.self) { try Self.load(["publisher": ["drain_latency_target_ms": 5]]) })?.key
                == "publisher.drain_latency_target_ms")
    }

    @Test("the drain starts at 5,000 readings/s (or drain_rate, if lower) and adapts up to drain_rate")
    func drainDefaults() throws {
        let defaults = try Self.load([:]).publisher
        #expect(defaults.drainRate == 100_000 && defaults.drainLatencyTargetMs == 500)
        #expect(defaults.drainController.readingsPerSecond == 5_000 && defaults.drainController.maximum == 100_000)
        let fixed = try Self.load(["publisher": ["drain_rate": 2_000, "drain_latency_target_ms": 250]]).publisher
        #expect(fixed.drainController.readingsPerSecond == 2_000 && fixed.drainController.maximum == 2_000)
        #expect(fixed.drainController.targetLatencyMs == 250)
    }
}
