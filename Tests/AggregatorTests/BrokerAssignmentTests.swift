import Foundation
import Testing
import OutpostSupport
@testable import OutpostAggregator

/// Spreading devices over independent brokers: the pure parts, no network, no disk.
@Suite("Broker assignment")
struct BrokerAssignmentTests {
    static let ids = (0..<10_000).map { String(format: "meter-%05d", $0) }

    @Test("the same device gets the same broker in every order of the list and in every process")
    func stable() {
        let forward = BrokerAssignment(brokers: ["a", "b", "c"])
        let backward = BrokerAssignment(brokers: ["c", "b", "a"])
        for id in Self.ids.prefix(2_000) { #expect(forward.broker(for: id) == backward.broker(for: id)) }
        // Fixed values: SHA-256 is the same everywhere, so these never change between releases.
        // Computed independently (Python's hashlib): the first 8 bytes of SHA-256("a" NUL "meter-00000").
        #expect(BrokerAssignment.score(broker: "a", device: "meter-00000") == 0x8d9b_9e75_002e_5a4c)
        #expect(Self.ids.prefix(8).map { forward.broker(for: $0) } == ["a", "a", "a", "c", "b", "a", "a", "c"])
    }

    @Test("10,000 ids spread evenly over 2, 3 and 4 brokers (each within 10% of its share)")
    func distribution() {
        for count in 2...4 {
            let names = (0..<count).map { "broker-\($0)" }
            let assignment = BrokerAssignment(brokers: names)
            var counts: [String: Int] = [:]
            for id in Self.ids { counts[assignment.broker(for: id), default: 0] += 1 }
            let share = Double(Self.ids.count) / Double(count)
            #expect(counts.count == count)
            for name in names { #expect(abs(Double(counts[name, default: 0]) - share) < share * 0.10, "\(name): \(counts[name, default: 0])") }
        }
    }

    @Test("appending a broker moves only about 1/N of the devices, all of them to the new broker")
    func appendMovesOneNth() {
        let two = BrokerAssignment(brokers: ["a", "b"])
        let three = BrokerAssignment(brokers: ["a", "b", "c"])
        var moved = 0
        for id in Self.ids where two.broker(for: id) != three.broker(for: id) {
            moved += 1
            #expect(three.broker(for: id) == "c")
        }
        // 1/3 of 10,000 expected; a modulo hash would move about 2/3.
        #expect((3_000...3_700).contains(moved), "moved \(moved)")
        // Removing a broker moves only its own devices.
        for id in Self.ids where three.broker(for: id) != "c" { #expect(two.broker(for: id) == three.broker(for: id)) }
    }

    @Test("an override wins; one naming a broker no longer configured is ignored")
    func overrides() {
        var assignment = BrokerAssignment(brokers: ["a", "b"])
        let id = Self.ids.first { assignment.broker(for: $0) == "a" }!
        assignment.overrides[id] = "b"
        #expect(assignment.broker(for: id) == "b")
        #expect(assignment.hashed(id) == "a")
        assignment.overrides[id] = "gone"
        #expect(assignment.broker(for: id) == "a")
        // Others are untouched by one device's override.
        let others = Self.ids.dropFirst(100).prefix(500)
        #expect(others.allSatisfy { assignment.broker(for: $0) == BrokerAssignment(brokers: ["a", "b"]).broker(for: $0) })
    }

    @Test("broker names: [a-z0-9][a-z0-9-]{0,31}")
    func names() {
        #expect(BrokerAssignment.isValidName("a"))
        #expect(BrokerAssignment.isValidName("mqtt-eu-1"))
        #expect(!BrokerAssignment.isValidName(""))
        #expect(!BrokerAssignment.isValidName("-a"))
        #expect(!BrokerAssignment.isValidName("A"))
        #expect(!BrokerAssignment.isValidName(String(repeating: "a", count: 33)))
    }

    static let base: JSONValue = [
        "instance_id": "a1", "state_dir": "/var/lib/o",
        "mqtt": ["host": "10.0.0.9", "port": 8884, "ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"],
        "http": ["cert_file": "/h.pem", "key_file": "/h.key"],
        "identity": ["device_broker_host": "mqtt.example", "broker_dir": "/etc/mosquitto/outpost", "broker_pid_file": "/run/m.pid"],
    ]

    static func with(_ brokers: JSONValue) -> JSONValue {
        guard case .object(var members) = base else { return base }
        members["brokers"] = brokers
        return .object(members)
    }

    @Test("without a brokers list: one broker, default, exactly today's single-broker settings")
    func singleBrokerConfiguration() throws {
        let configuration = try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: Self.base)
        let brokers = configuration.resolvedBrokers
        #expect(brokers.map(\.name) == ["default"])
        #expect(brokers[0].settings == configuration.mqtt)
        #expect(brokers[0].deviceAddress == .init(host: "mqtt.example", port: 8884))
        #expect(brokers[0].crlFile == "/etc/mosquitto/outpost/crl.pem")
        #expect(configuration.crlFile == "/etc/mosquitto/outpost/crl.pem")
        #expect(brokers[0].pidFile == "/run/m.pid")
    }

    @Test("a brokers list: mqtt's files with each broker's address; defaults; names checked and unique")
    func brokersConfiguration() throws {
        let loader = ConfigLoader(environment: [:])
        let configuration = try loader.decode(AggregatorConfiguration.self, from: Self.with([
            ["name": "a", "host": "10.0.0.1"],
            ["name": "b", "host": "10.0.0.2", "port": 8885, "device_host": "b.example", "device_port": 443, "broker_dir": "/srv/b",
             "pid_file": "/run/b.pid"],
        ]))
        let brokers = configuration.resolvedBrokers
        #expect(brokers.map(\.name) == ["a", "b"])
        #expect(brokers[0].settings.host == "10.0.0.1" && brokers[0].settings.port == 8883 && brokers[0].settings.caFile == "/ca.pem")
        #expect(brokers[0].deviceAddress == .init(host: "10.0.0.1", port: 8883))
        #expect(brokers[0].crlFile == "/var/lib/o/broker-a/crl.pem")
        #expect(brokers[0].pidFile == "/run/m.pid")
        #expect(brokers[1].deviceAddress == .init(host: "b.example", port: 443))
        #expect(brokers[1].crlFile == "/srv/b/crl.pem" && brokers[1].pidFile == "/run/b.pid")
        #expect(configuration.brokerAssignment.brokers == ["a", "b"])

        #expect(throws: ConfigError(.invalidValue, key: "brokers", "")) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([["name": "a", "host": "h1"], ["name": "a", "host": "h2"]]))
        }
        #expect(throws: ConfigError.self) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([["name": "Bad Name", "host": "h1"]]))
        }
        #expect(throws: ConfigError.self) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([["name": "a"]]))
        }
    }

    @Test("brokers sharing a pid file (both defaulted, or written alike) or a broker directory are refused at load")
    func distinctBrokerFiles() throws {
        let loader = ConfigLoader(environment: [:])
        // Both default to identity.broker_pid_file: a reload would signal one mosquitto twice and never the other.
        let defaulted = #expect(throws: ConfigError(.invalidValue, key: "brokers.pid_file", "")) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([["name": "a", "host": "h1"], ["name": "b", "host": "h2"]]))
        }
        #expect(defaulted?.problem == "brokers a and b both use /run/m.pid; give each its own")
        #expect(throws: ConfigError(.invalidValue, key: "brokers.pid_file", "")) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([
                ["name": "a", "host": "h1", "pid_file": "/run/x.pid"], ["name": "b", "host": "h2", "pid_file": "/run//x.pid"],
            ]))
        }
        #expect(throws: ConfigError(.invalidValue, key: "brokers.broker_dir", "")) {
            try loader.decode(AggregatorConfiguration.self, from: Self.with([
                ["name": "a", "host": "h1", "broker_dir": "/srv/m"], ["name": "b", "host": "h2", "pid_file": "/run/b.pid", "broker_dir": "/srv/m/"],
            ]))
        }
        // The default directory is per name, and one broker may keep the default pid file.
        let configuration = try loader.decode(AggregatorConfiguration.self, from: Self.with([
            ["name": "a", "host": "h1"], ["name": "b", "host": "h2", "pid_file": "/run/b.pid"],
        ]))
        #expect(configuration.resolvedBrokers.map(\.pidFile) == ["/run/m.pid", "/run/b.pid"])
        #expect(configuration.resolvedBrokers.map(\.directory) == ["/var/lib/o/broker-a", "/var/lib/o/broker-b"])
    }

    @Test("health: one of two brokers down is degraded with its name; all down is failing")
    func health() {
        var report = HealthReport(databaseUp: true, brokerUp: true, failingWrites: [])
        report.brokersDown = ["b"]
        #expect(report.findings.map(\.problem) == ["broker_disconnected:b"])
        #expect(report.httpStatus == 200)
        report.brokerUp = false
        #expect(report.httpStatus == 503)
    }
}
