import Foundation
import NIOHTTP1
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("Admin API: a device's broker and its override", .serialized, .timeLimit(.minutes(3)))
struct BrokerOverrideAPITests {
    @Test("GET shows hash and override; PUT sets and clears it (admin, audited); unknown broker 422, unknown device 404")
    func override() async throws {
        try await APITestEnvironment.with(brokers: ["a", "b"]) { env in
            let assignment = BrokerAssignment(brokers: ["a", "b"])
            let device = try #require((0..<100).map { "meter-\($0)" }.first { assignment.broker(for: $0) == "a" })
            try await env.psql("INSERT INTO devices (id) VALUES ('\(device)')")
            let admin = try await env.createAPIKey(role: .admin)
            let operatorKey = try await env.createAPIKey(role: .operator)
            let path = "/api/v1/devices/\(device)/broker"

            let initial = try await env.send(.GET, path, token: operatorKey)
            #expect(initial.status == 200, "\(initial.text)")
            #expect(initial.json == ["device": .string(device), "broker": "a", "hashed": "a", "override": .null])

            #expect(try await env.send(.PUT, path, token: operatorKey, json: ["broker": "b"]).status == 403)
            let moved = try await env.send(.PUT, path, token: admin, json: ["broker": "b"])
            #expect(moved.status == 200, "\(moved.text)")
            #expect(moved.json == ["device": .string(device), "broker": "b", "hashed": "a", "override": "b"])
            #expect(try await env.send(.GET, path, token: operatorKey).json["broker"] == "b")
            #expect(try await env.psql("SELECT broker_override FROM devices WHERE id = '\(device)'") == "b")

            let unknown = try await env.send(.PUT, path, token: admin, json: ["broker": "c"])
            #expect(unknown.status == 422 && unknown.errorCode == "validation_failed", "\(unknown.text)")
            let extra = try await env.send(.PUT, path, token: admin, json: ["broker": "a", "force": true])
            #expect(extra.status == 422, "\(extra.text)")
            let missing = try await env.send(.PUT, path, token: admin, json: [:])
            #expect(missing.status == 422 && missing.errorCode == "validation_failed", "\(missing.text)")
            let nobody = try await env.send(.PUT, "/api/v1/devices/no-such/broker", token: admin, json: ["broker": "a"])
            #expect(nobody.status == 404 && nobody.errorCode == "not_found")
            #expect(try await env.send(.GET, "/api/v1/devices/no-such/broker", token: admin).status == 404)

            let cleared = try await env.send(.PUT, path, token: admin, json: ["broker": .null])
            #expect(cleared.json == ["device": .string(device), "broker": "a", "hashed": "a", "override": .null])
            #expect(try await env.psql("""
                SELECT string_agg(target || ' ' || (details->>'override') || ' ' || (details->>'previousBroker') || ' ' || (details->>'broker'), ';' ORDER BY id)
                FROM audit_log WHERE action = 'device.broker_override'
                """) == "device:\(device) b a b;device:\(device) none b a")
        }
    }
}
