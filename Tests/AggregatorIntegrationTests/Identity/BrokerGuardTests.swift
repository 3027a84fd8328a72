import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostMQTT
import OutpostWire
import Testing
import TestHarness

/// What the broker configured by `broker-config` guarantees against a hostile device:
/// no stealing from the aggregators' shared subscription when its group is not guessable,
/// and publishes over the wire cap never delivered.
@Suite("Broker guards against a hostile device", .serialized, .timeLimit(.minutes(4)))
struct BrokerGuardTests {
    @Test("a device subscribing to shared and foreign filters takes nothing from aggregators in a secret group")
    func sharedSubscriptionGroup() async throws {
        let fixture = try await BrokerFixture()
        var clients: [WatchedClient] = []
        do {
            let logs = fixture.identity.logs
            let hostileConfiguration = try await fixture.enroll("meter-h")
            let honestConfiguration = try await fixture.enroll("meter-o")
            let secret = "f3a9c2e17b6d4058a1c3e5f7092b4d6e"
            let service = try WatchedClient(fixture.identity.configuration.mqtt, clientID: "svc.aggregator.a1", logger: logs.logger("svc"))
            let hostile = try WatchedClient(hostileConfiguration.mqtt, clientID: "meter-h", logger: logs.logger("agent.h"))
            let honest = try WatchedClient(honestConfiguration.mqtt, clientID: "meter-o", logger: logs.logger("agent.o"))
            clients = [service, hostile, honest]
            for client in clients { try await client.waitConnected() }
            for filter in BrokerConnection.filters(shareGroup: secret) { try await service.client.subscribe(filter) }
            // Everything a device might try: the public default group, a guess, and plain filters.
            var granted: [String] = []
            for filter in [Topic.shared(.telemetry), Topic.shared(.events), Topic.shared(.telemetry, group: "aggregators"),
                           Topic.allDevices(.telemetry), "#"] {
                if (try? await hostile.client.subscribe(filter)) != nil { granted.append(filter) }
            }
            // Without the guard plugin the broker grants the shared ones: the hostile device really sits in those groups.
            #expect(granted.contains(Topic.shared(.telemetry)) && granted.contains(Topic.shared(.telemetry, group: "aggregators")),
                    "granted: \(granted)")
            try await hostile.client.subscribe(Topic(DeviceID("meter-h")!, .ack).name)
            let device = DeviceID("meter-o")!
            for index in 0..<20 {
                try await honest.client.publish(Topic(device, .telemetry).name, payload: Array("t-\(index)".utf8))
                try await honest.client.publish(Topic(device, .events).name, payload: Array("e-\(index)".utf8))
            }
            try await waitUntil(timeout: .seconds(20), "all 40 messages at the aggregator") {
                (0..<20).allSatisfy { service.received("t-\($0)") && service.received("e-\($0)") }
            }
            try await Self.deliveredAfter(hostile, device: "meter-h", from: service)
            #expect(service.payloads.count(where: { $0.hasPrefix("t-") || $0.hasPrefix("e-") }) == 40)
            #expect(!hostile.payloads.contains { $0.hasPrefix("t-") || $0.hasPrefix("e-") })
            for client in clients { await client.shutdown() }
            await fixture.stop()
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
    }

    @Test("with the subscribe guard plugin a device's $share, wildcard and foreign subscriptions are refused, even in the public group")
    func subscribeGuard() async throws {
        let pluginDirectory = try TemporaryDirectory(prefix: "outpost-plugin")
        defer { pluginDirectory.remove() }
        let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        let plugin = try await runTool("/bin/bash", [sourceRoot + "/packaging/mosquitto-plugin/build.sh", pluginDirectory.path])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fixture = try await BrokerFixture(subscribeGuard: plugin)
        var clients: [WatchedClient] = []
        do {
            let config = try String(contentsOfFile: fixture.brokerDirectory + "/mosquitto.conf", encoding: .utf8)
            #expect(config.contains("\nplugin \(plugin)\n"))
            let logs = fixture.identity.logs
            let hostileConfiguration = try await fixture.enroll("meter-h")
            let honestConfiguration = try await fixture.enroll("meter-o")
            let service = try WatchedClient(fixture.identity.configuration.mqtt, clientID: "svc.aggregator.a1", logger: logs.logger("svc"))
            let hostile = try WatchedClient(hostileConfiguration.mqtt, clientID: "meter-h", logger: logs.logger("agent.h"))
            let honest = try WatchedClient(honestConfiguration.mqtt, clientID: "meter-o", logger: logs.logger("agent.o"))
            clients = [service, hostile, honest]
            for client in clients { try await client.waitConnected() }
            // The aggregator in the public default group: the guard, not a secret, keeps devices out.
            for filter in BrokerConnection.filters(shareGroup: Topic.sharedGroup) { try await service.client.subscribe(filter) }
            let refusedFilters = [Topic.shared(.telemetry), Topic.shared(.events), Topic.shared(.cmdResult),
                                  Topic.shared(.telemetry, group: "aggregators"), Topic.allDevices(.telemetry), "#",
                                  "outpost/v1/meter-o/cmd", "outpost/v1/meter-o/ack", "outpost/v1/meter-h/#", "outpost/v1/meter-h/telemetry"]
            for filter in refusedFilters {
                await #expect(throws: MQTTError.self, "\(filter) refused") { try await hostile.client.subscribe(filter) }
            }
            // Its own downlink topics are granted.
            try await hostile.client.subscribe(Topic(DeviceID("meter-h")!, .ack).name)
            try await hostile.client.subscribe(Topic(DeviceID("meter-h")!, .cmd).name)
            let device = DeviceID("meter-o")!
            for index in 0..<20 {
                try await honest.client.publish(Topic(device, .telemetry).name, payload: Array("t-\(index)".utf8))
                try await honest.client.publish(Topic(device, .events).name, payload: Array("e-\(index)".utf8))
                try await honest.client.publish(Topic(device, .cmdResult).name, payload: Array("r-\(index)".utf8))
            }
            try await waitUntil(timeout: .seconds(20), "all 60 messages at the aggregator") {
                (0..<20).allSatisfy { service.received("t-\($0)") && service.received("e-\($0)") && service.received("r-\($0)") }
            }
            // Its granted subscription delivers, and after all 60: nothing of theirs is still on its way to it.
            try await Self.deliveredAfter(hostile, device: "meter-h", from: service)
            #expect(service.payloads.count(where: { $0.hasPrefix("t-") || $0.hasPrefix("e-") || $0.hasPrefix("r-") }) == 60)
            #expect(!hostile.payloads.contains { $0.hasPrefix("t-") || $0.hasPrefix("e-") || $0.hasPrefix("r-") })
            #expect(fixture.process.log.contains("outpost: subscription to '$share/outpost/outpost/v1/+/telemetry' refused for device meter-h"))
            // Still in force after a reload (SIGHUP, as `cert revoke` sends), once the broker has reloaded.
            let reloadsBefore = fixture.process.log.components(separatedBy: "Reloading config.").count
            #expect(kill(fixture.process.pid, SIGHUP) == 0)
            try await waitUntil(timeout: .seconds(10), "the broker reloaded") {
                fixture.process.log.components(separatedBy: "Reloading config.").count > reloadsBefore
            }
            await #expect(throws: MQTTError.self, "refused after a reload") { try await hostile.client.subscribe(Topic.shared(.events)) }
            try await hostile.client.subscribe(Topic(DeviceID("meter-h")!, .cmd).name)
            for client in clients { await client.shutdown() }
            await fixture.stop()
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
    }

    @Test("the generated configuration caps payloads at the wire cap: a larger publish never reaches the aggregator")
    func sizeCaps() async throws {
        let fixture = try await BrokerFixture()
        var clients: [WatchedClient] = []
        do {
            let config = try String(contentsOfFile: fixture.brokerDirectory + "/mosquitto.conf", encoding: .utf8)
            let cap = WireLimits.standard.maxPayloadBytes
            #expect(config.contains("message_size_limit \(cap)\n"))
            #expect(config.contains("max_packet_size \(cap + 4_096)\n"))
            #expect(config.contains("max_queued_bytes \(256 * 1024 * 1024)\n") && config.contains("max_inflight_messages 100\n"))
            let logs = fixture.identity.logs
            let deviceConfiguration = try await fixture.enroll("meter-big")
            let service = try WatchedClient(fixture.identity.configuration.mqtt, clientID: "svc.aggregator.a1", logger: logs.logger("svc"))
            let device = try WatchedClient(deviceConfiguration.mqtt, clientID: "meter-big", logger: logs.logger("agent.big"))
            clients = [service, device]
            for client in clients { try await client.waitConnected() }
            try await service.client.subscribe(Topic.allDevices(.telemetry))
            let topic = Topic(DeviceID("meter-big")!, .telemetry).name
            let atCap = [UInt8](repeating: UInt8(ascii: "a"), count: cap)
            let overCap = [UInt8](repeating: UInt8(ascii: "b"), count: cap + 1)
            try? await device.client.publish(topic, payload: overCap)
            try await device.client.publish(topic, payload: atCap)
            try await device.client.publish(topic, payload: Array("after".utf8))
            try await waitUntil(timeout: .seconds(20), "the message at the cap and the one after") {
                service.received("after") && service.recorded.contains {
                    if case .message(let message) = $0 { message.payload.count == cap } else { false }
                }
            }
            #expect(!service.recorded.contains { if case .message(let message) = $0 { message.payload.count > cap } else { false } })
            for client in clients { await client.shutdown() }
            await fixture.stop()
        } catch {
            for client in clients { await client.shutdown() }
            await fixture.stop()
            throw error
        }
    }
    /// Publishes a marker on `device`'s own `ack` topic (`client` must be subscribed) and waits for it: the
    /// broker delivers to one client in order, so whatever was routed to it before the marker has arrived too.
    static func deliveredAfter(_ client: WatchedClient, device: String, from service: WatchedClient) async throws {
        let marker = "marker-\(UInt64.random(in: 0...UInt64.max))"
        try await service.client.publish(Topic(DeviceID(device)!, .ack).name, payload: Array(marker.utf8))
        try await waitUntil(timeout: .seconds(20), "\(marker) delivered to \(device)") { client.received(marker) }
    }
}
