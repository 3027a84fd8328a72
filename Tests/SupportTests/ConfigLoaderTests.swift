import Testing
@testable import OutpostMQTT
@testable import OutpostSupport

@Suite("Configuration loading")
struct ConfigLoaderTests {
    struct Sample: Codable, Equatable {
        var name: String
        var mqtt: BrokerSettings
        var logging: LoggingConfiguration

        enum CodingKeys: String, CodingKey { case name, mqtt, logging }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            mqtt = try container.decode(BrokerSettings.self, forKey: .mqtt)
            logging = try container.value(.logging, default: LoggingConfiguration())
        }
    }

    let base: JSONValue = ["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"]]

    @Test("defaults fill what the file leaves out")
    func defaults() throws {
        let sample = try ConfigLoader(environment: [:]).decode(Sample.self, from: base)
        #expect(sample.mqtt.port == 8883)
        #expect(sample.mqtt.host == "127.0.0.1")
        #expect(sample.logging.format == .json)
    }

    @Test("environment overrides keys, with types taken from JSON")
    func environmentOverrides() throws {
        let loader = ConfigLoader(environment: [
            "OUTPOST_MQTT__PORT": "18883", "OUTPOST_NAME": "123", "OUTPOST_MQTT__VERIFY_HOSTNAME": "false",
            "OUTPOST_LOGGING__LEVEL": "debug", "UNRELATED": "1",
        ])
        let sample = try loader.decode(Sample.self, from: loader.applyingEnvironment(to: base))
        #expect(sample.mqtt.port == 18883)
        #expect(sample.name == "123")
        #expect(sample.mqtt.verifyHostname == false)
        #expect(sample.logging.level == .debug)
    }

    static let errorCases: [(JSONValue, String, String)] = [
        (["mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"]], "missing_key", "name"),
        (["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem"]], "missing_key", "mqtt.key_file"),
        (["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "port": "eighty"]], "wrong_type", "mqtt.port"),
        (["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "port": 70000]], "invalid_value", "mqtt.port"),
        (["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "hots": "a"]], "unknown_key", "mqtt.hots"),
        (["name": "x", "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"], "logging": ["level": "loud"]], "invalid_value", "logging.level"),
        ]

    @Test("errors name the key and the problem", arguments: errorCases)
    func errors(_ tree: JSONValue, _ code: String, _ key: String) {
        let error = #expect(throws: ConfigError.self) { try ConfigLoader(environment: [:]).decode(Sample.self, from: tree) }
        #expect(error?.code.rawValue == code)
        #expect(error?.key == key)
    }

    @Test("a missing file is reported, not a crash")
    func missingFile() {
        let error = #expect(throws: ConfigError.self) { try ConfigLoader(environment: [:]).load(Sample.self, path: "/nonexistent/x.json") }
        #expect(error?.code == .unreadableFile)
    }

    @Test("component log levels: the longest prefix wins")
    func componentLevels() {
        let logging = LoggingConfiguration(level: .info, components: ["agent": .warning, "agent.publisher": .trace])
        #expect(logging.level(for: "agent.publisher") == .trace)
        #expect(logging.level(for: "agent.buffer") == .warning)
        #expect(logging.level(for: "agentx") == .info)
        #expect(logging.level(for: "aggregator") == .info)
    }

    @Test("JSON log lines escape what they must and carry metadata")
    func jsonLines() {
        let lines = LockedLines()
        let handler = JSONLineLogHandler(label: "agent.test", level: .info, sink: LogSink { lines.append($0) })
        var logger = Logger(label: "agent.test") { _ in handler }
        logger[metadataKey: "device"] = "m-1"
        logger.info("quote \" and\nnewline", metadata: ["secret": "\(Redacted("hunter2"))"])
        logger.debug("dropped")
        let all = lines.all
        #expect(all.count == 1)
        let line = all.first ?? ""
        #expect(line.contains(#""level":"info","component":"agent.test","msg":"quote \" and\nnewline""#))
        #expect(line.contains(#""device":"m-1""#))
        #expect(line.contains("<redacted>"))
        #expect(!line.contains("hunter2"))
    }
}

import Logging
import Synchronization

final class LockedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
