import Foundation
import OutpostAggregator
import OutpostCommon
import Testing

@Suite("How the broker learns of a new CRL (identity.broker_reload)", .serialized, .timeLimit(.minutes(1)))
struct BrokerReloaderTests {
    static let base: JSONValue = [
        "instance_id": "a1",
        "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"],
        "http": ["cert_file": "/h.pem", "key_file": "/h.key"],
    ]

    static func configuration(identity: JSONValue) throws(ConfigError) -> AggregatorConfiguration {
        guard case .object(var members) = base else { preconditionFailure("base is an object") }
        members["identity"] = identity
        return try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: .object(members))
    }

    /// `sleep` with SIGHUP's default action: a signal ends it.
    static func sleeper(pidFile: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["60"]
        try process.run()
        try "\(process.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        return process
    }

    @Test("signal by default; crl_watch when set; any other value names the key")
    func decoding() throws {
        #expect(try Self.configuration(identity: [:]).identity.brokerReload == .signal)
        #expect(try Self.configuration(identity: ["broker_reload": "crl_watch"]).identity.brokerReload == .crlWatch)
        #expect(try Self.configuration(identity: ["broker_reload": "signal"]).identity.brokerReload == .signal)
        let error = #expect(throws: ConfigError.self) { try Self.configuration(identity: ["broker_reload": "sighup"]) }
        #expect(error == ConfigError(.invalidValue, key: "identity.broker_reload", ""))
        #expect(error?.description.contains("must be signal or crl_watch") == true, "\(String(describing: error))")
    }

    @Test("signal sends SIGHUP to the pid in the pid file, and fails with broker_unreachable when it cannot")
    func signals() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/broker.pid"
        let process = try Self.sleeper(pidFile: pidFile)
        try BrokerReloader(pidFile: pidFile, mode: .signal).reload()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGHUP)

        let missing = #expect(throws: IdentityError.self) { try BrokerReloader(pidFile: directory + "/none.pid").reload() }
        #expect(missing?.code == .brokerUnreachable)
        try "not a pid\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let garbled = #expect(throws: IdentityError.self) { try BrokerReloader(pidFile: pidFile).reload() }
        #expect(garbled?.code == .brokerUnreachable)
    }

    @Test("crl_watch signals nothing: the revocation writes the CRL and leaves the reload to the path unit")
    func crlWatchLeavesTheBrokerAlone() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/broker.pid"
        let process = try Self.sleeper(pidFile: pidFile)
        defer { process.terminate() }
        let configuration = try Self.configuration(identity: ["broker_reload": "crl_watch", "broker_pid_file": .string(pidFile)])
        try BrokerReloader(pidFile: configuration.identity.brokerPidFile, mode: configuration.identity.brokerReload).reload()
        // Not even a missing pid file is an error: nothing is signalled.
        try BrokerReloader(pidFile: directory + "/none.pid", mode: .crlWatch).reload()
        Thread.sleep(forTimeInterval: 0.2)
        #expect(process.isRunning, "the pid in the pid file was not signalled")
    }
}
