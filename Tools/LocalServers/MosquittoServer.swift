import Foundation
import OutpostMQTT
import OutpostWire

/// A throwaway mosquitto 2.x on 127.0.0.1: TLS only, client certificates required,
/// the certificate CN as username, and the fleet ACL from ``BrokerACL``.
///
/// Queue limits are set on purpose (DESIGN.md: the stock 1,000-message limit dropped
/// most of a burst), and persistence can be turned on for restart tests.
public final class MosquittoServer: @unchecked Sendable {
    public struct Options: Sendable {
        public var serviceIdentities: [String]
        /// Keep sessions and queued messages on disk across restarts.
        public var persistence: Bool
        public var maxQueuedMessages: Int
        public init(serviceIdentities: [String] = [], persistence: Bool = false, maxQueuedMessages: Int = 200_000) {
            self.serviceIdentities = serviceIdentities
            self.persistence = persistence
            self.maxQueuedMessages = maxQueuedMessages
        }
    }

    public let port: Int
    public let directory: String
    public let ca: TestCertificateAuthority
    public let configFile: String
    private let executable: String
    private var process: ServerProcess?

    /// Writes the configuration and certificates into `directory` and starts the broker.
    public init(directory: String, ca: TestCertificateAuthority, options: Options = Options()) async throws {
        self.directory = directory
        self.ca = ca
        executable = try locateTool("mosquitto")
        let server = try await ca.issueServer()
        let aclFile = (directory as NSString).appendingPathComponent("acl")
        try BrokerACL(serviceIdentities: options.serviceIdentities).renderMosquitto()
            .write(toFile: aclFile, atomically: true, encoding: .utf8)
        // Chosen last: until the broker binds it, a client's outgoing connection may take the port.
        port = try FreePort.next()
        var lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            "listener \(port) 127.0.0.1",
            "protocol mqtt",
            "cafile \(ca.certificateFile)",
            "certfile \(server.certificateFile)",
            "keyfile \(server.keyFile)",
            "require_certificate true",
            "use_identity_as_username true",
            "tls_version tlsv1.2",
            "acl_file \(aclFile)",
            "max_queued_messages \(options.maxQueuedMessages)",
            "max_queued_bytes 0",
            "max_inflight_messages 100",
            "persistence \(options.persistence)",
            "persistence_location \(directory)/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if geteuid() == 0 { lines.append("user root") }
        configFile = (directory as NSString).appendingPathComponent("mosquitto.conf")
        try (lines.joined(separator: "\n") + "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        try await start()
    }

    /// Starts (or restarts) the broker on the same port and waits until it accepts connections.
    public func start() async throws {
        let logPath = (directory as NSString).appendingPathComponent("mosquitto.log")
        let started = try ServerProcess(name: "mosquitto", executable: executable, arguments: ["-c", configFile], logPath: logPath)
        process = started
        try await waitUntil(timeout: .seconds(20), "mosquitto on port \(port)") {
            guard started.isRunning else { throw HarnessError("mosquitto exited: \(started.log)") }
            return FreePort.isAccepting(port)
        }
    }

    /// Graceful stop (SIGTERM), waiting for the exit.
    public func stop() async { await process?.stop() }

    /// `kill -9`.
    public func crash() async { await process?.crash() }

    public var log: String { process?.log ?? "" }
    public var pid: Int32? { process?.pid }

    /// Client settings for an identity issued by this broker's CA.
    public func settings(for identity: TestCertificateAuthority.Identity) -> BrokerSettings {
        BrokerSettings(host: "127.0.0.1", port: port, caFile: ca.certificateFile, certFile: identity.certificateFile,
                       keyFile: identity.keyFile)
    }
}
