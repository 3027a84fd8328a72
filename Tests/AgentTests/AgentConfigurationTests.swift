import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostCommon

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
    }
}
