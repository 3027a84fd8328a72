import Foundation
import OutpostAggregator
import OutpostSupport
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

    /// `sleep 60` with SIGHUP at its default action and unblocked (the test runner ignores or
    /// blocks some signals, and a child inherits both), so a SIGHUP ends it; its pid is written to `pidFile`.
    static func sleeper(pidFile: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGHUP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("60")]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sleep", nil, &attributes, arguments + [nil], environ)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL) }
        try "\(pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        return pid
    }

    /// The signal that ended `pid` within 10 s, 0 if it exited, nil if it still runs (then it is killed).
    static func endingSignal(_ pid: pid_t) async -> Int32? {
        var status: Int32 = 0
        for _ in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid {
                return (status & 0x7f) != 0 ? status & 0x7f : 0
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
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
    func signals() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/broker.pid"
        let pid = try Self.sleeper(pidFile: pidFile)
        try BrokerReloader(pidFile: pidFile, mode: .signal).reload()
        #expect(await Self.endingSignal(pid) == SIGHUP)

        let missing = #expect(throws: IdentityError.self) { try BrokerReloader(pidFile: directory + "/none.pid").reload() }
        #expect(missing?.code == .brokerUnreachable)
        try "not a pid\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let garbled = #expect(throws: IdentityError.self) { try BrokerReloader(pidFile: pidFile).reload() }
        #expect(garbled?.code == .brokerUnreachable)
    }

    @Test("crl_watch signals nothing: the revocation writes the CRL and leaves the reload to the path unit")
    func crlWatchLeavesTheBrokerAlone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reloader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/broker.pid"
        let pid = try Self.sleeper(pidFile: pidFile)
        let configuration = try Self.configuration(identity: ["broker_reload": "crl_watch", "broker_pid_file": .string(pidFile)])
        try BrokerReloader(pidFile: configuration.identity.brokerPidFile, mode: configuration.identity.brokerReload).reload()
        // Not even a missing pid file is an error: nothing is signalled.
        try BrokerReloader(pidFile: directory + "/none.pid", mode: .crlWatch).reload()
        try await Task.sleep(for: .milliseconds(200))
        var status: Int32 = 0
        #expect(waitpid(pid, &status, WNOHANG) == 0, "the pid in the pid file was not signalled")
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
