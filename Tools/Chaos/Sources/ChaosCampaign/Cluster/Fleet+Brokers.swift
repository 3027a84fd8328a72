import Foundation
import LocalServers

/// A broker past the first (`--brokers N`): named `b`, `c`, …, with its own port, the files
/// `broker-config --broker NAME` wrote, and its process.
final class ExtraBroker {
    let name: String
    let port: Int
    let directory: String
    var process: ServerProcess?

    init(index: Int, work: String) throws {
        name = String(UnicodeScalar(UInt8(97 + index)))
        port = try FreePort.next()
        directory = "\(work)/aggregator/broker-\(name)"
    }

    var processName: String { "mosquitto-\(name)" }
}

extension Fleet {
    /// The aggregators' `brokers` list when there is more than one broker: `a` is the first
    /// (``brokerPort``, its files in `brokerDirectory`), then every ``ExtraBroker``.
    func brokersSection(brokerDirectory: String) -> [String: Any] {
        guard !extraBrokers.isEmpty else { return [:] }
        let first: [String: Any] = ["name": "a", "host": "127.0.0.1", "port": brokerPort, "broker_dir": brokerDirectory,
                                    "pid_file": "\(work)/mosquitto/mosquitto.pid"]
        return ["brokers": [first] + extraBrokers.map { extra -> [String: Any] in
            ["name": extra.name, "host": "127.0.0.1", "port": extra.port, "broker_dir": extra.directory,
             "pid_file": "\(extra.directory)/mosquitto.pid"]
        }]
    }

    /// Starts (or restarts) extra broker `index` on its port and waits until it accepts connections.
    func startExtraBroker(_ index: Int) async throws {
        let extra = extraBrokers[index]
        let process = try spawn(extra.processName, try locateTool("mosquitto"), ["-c", "\(extra.directory)/mosquitto.conf"])
        extra.process = process
        try await waitUntil(timeout: .seconds(30), "\(extra.processName) on 127.0.0.1:\(extra.port)") { [port = extra.port] in
            guard process.isRunning else { throw ChaosError(.restartFailed, "\(extra.processName) exited; see logs/\(extra.processName).log") }
            return FreePort.isAccepting(port)
        }
    }
}
