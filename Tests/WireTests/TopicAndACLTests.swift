import Testing
@testable import OutpostWire

@Suite("Topics and the broker ACL")
struct TopicAndACLTests {
    @Test("topics build and parse", arguments: Topic.Kind.allCases)
    func topicRoundTrip(_ kind: Topic.Kind) throws {
        let topic = Topic(DeviceID("meter-7")!, kind)
        #expect(try Topic(parsing: topic.name) == topic)
    }

    @Test("topic names are exact")
    func topicNames() {
        #expect(Topic(DeviceID("m1")!, .cmdResult).name == "outpost/v1/m1/cmd/result")
        #expect(Topic.shared(.telemetry) == "$share/outpost/outpost/v1/+/telemetry")
    }

    @Test("forged or foreign topics are refused", arguments: [
        ("outpost/v2/m1/telemetry", "invalid_topic"), ("outpost/v1/M1/telemetry", "invalid_device_id"),
        ("outpost/v1/m1/telemetry/extra", "invalid_topic"), ("outpost/v1/m1", "invalid_topic"),
        ("outpost/v1/+/telemetry", "invalid_device_id"), ("other/v1/m1/telemetry", "invalid_topic"),
        ("outpost/v1//telemetry", "invalid_device_id"),
    ])
    func badTopics(_ name: String, _ code: String) {
        let error = #expect(throws: WireError.self) { try Topic(parsing: name) }
        #expect(error?.code.rawValue == code)
    }

    @Test("filters match like a broker")
    func filterMatching() {
        #expect(TopicFilter.matches("outpost/v1/+/telemetry", "outpost/v1/m1/telemetry"))
        #expect(!TopicFilter.matches("outpost/v1/+/telemetry", "outpost/v1/m1/state"))
        #expect(TopicFilter.matches("outpost/#", "outpost/v1/m1/cmd/result"))
        #expect(TopicFilter.matches("$share/g/outpost/v1/+/cmd/result", "outpost/v1/m1/cmd/result"))
        #expect(!TopicFilter.matches("outpost/v1/+/cmd", "outpost/v1/m1/cmd/result"))
        #expect(!TopicFilter.matches("#", "$SYS/broker/uptime"))
    }

    @Test("a device touches only its own topics, in its own direction")
    func devicePolicy() {
        let acl = BrokerACL(serviceIdentities: ["svc.aggregator.a1"])
        for kind in Topic.Kind.allCases {
            let own = Topic(DeviceID("dev-a")!, kind).name
            let other = Topic(DeviceID("dev-b")!, kind).name
            let access: BrokerACL.Access = kind.direction == .deviceToCentre ? .write : .read
            let opposite: BrokerACL.Access = access == .write ? .read : .write
            #expect(acl.allows("dev-a", access, topic: own), "\(kind)")
            #expect(!acl.allows("dev-a", opposite, topic: own), "\(kind)")
            #expect(!acl.allows("dev-a", access, topic: other), "\(kind)")
        }
    }

    @Test("a service reads every uplink and writes every downlink; devices cannot pose as one")
    func servicePolicy() {
        let acl = BrokerACL(serviceIdentities: ["svc.aggregator.a1"])
        #expect(acl.allows("svc.aggregator.a1", .read, topic: "outpost/v1/m9/telemetry"))
        #expect(acl.allows("svc.aggregator.a1", .write, topic: "outpost/v1/m9/cmd"))
        #expect(!acl.allows("svc.aggregator.a1", .write, topic: "outpost/v1/m9/telemetry"))
        #expect(!acl.allows("svc.aggregator.a2", .read, topic: "outpost/v1/m9/telemetry"))
        #expect(BrokerACL.isServiceIdentity("svc.aggregator.a1"))
        #expect(!BrokerACL.isServiceIdentity("aggregator-1"))
        #expect(DeviceID("svc.aggregator.a1") == nil)
    }

    @Test("the rendered acl_file holds every rule")
    func rendering() {
        let text = BrokerACL(serviceIdentities: ["svc.aggregator.a1"]).renderMosquitto()
        #expect(text.contains("pattern write outpost/v1/%u/telemetry\n"))
        #expect(text.contains("pattern read outpost/v1/%u/cmd\n"))
        #expect(text.contains("user svc.aggregator.a1\ntopic read outpost/v1/+/telemetry\n"))
        #expect(text.contains("topic write outpost/v1/+/ack\n"))
    }

    @Test("the EMQX acl.conf holds the same policy in EMQX's terms, closed by a deny")
    func renderingEMQX() {
        let text = BrokerACL(serviceIdentities: ["svc.aggregator.a1", "svc.aggregator.a2"]).renderEMQX()
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("%%") && !$0.isEmpty }
        #expect(lines == [
            #"{allow, all, publish, ["outpost/v1/${username}/telemetry", "outpost/v1/${username}/state", "outpost/v1/${username}/cmd/result", "outpost/v1/${username}/events"]}."#,
            #"{allow, all, subscribe, ["outpost/v1/${username}/ack", "outpost/v1/${username}/cmd"]}."#,
            #"{allow, {username, "svc.aggregator.a1"}, publish, ["outpost/v1/+/ack", "outpost/v1/+/cmd"]}."#,
            #"{allow, {username, "svc.aggregator.a1"}, subscribe, ["outpost/v1/+/telemetry", "outpost/v1/+/state", "outpost/v1/+/cmd/result", "outpost/v1/+/events"]}."#,
            #"{allow, {username, "svc.aggregator.a2"}, publish, ["outpost/v1/+/ack", "outpost/v1/+/cmd"]}."#,
            #"{allow, {username, "svc.aggregator.a2"}, subscribe, ["outpost/v1/+/telemetry", "outpost/v1/+/state", "outpost/v1/+/cmd/result", "outpost/v1/+/events"]}."#,
            "{deny, all}.",
        ])
    }
}
