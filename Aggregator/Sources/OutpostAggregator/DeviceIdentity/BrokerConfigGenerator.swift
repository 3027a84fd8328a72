import Foundation
import OutpostWire

/// `broker-config`: everything mosquitto needs, in one directory.
///
/// - `mosquitto.conf`: one TLS listener; client certificates required and checked against
///   the CRL; the CN is the username and the client id; the fleet ACL; queue limits set
///   on purpose (DESIGN.md: the stock 1,000-message limit silently dropped 87–91% of a burst).
/// - `ca.pem`, `server.pem` + `server.key` (issued by the CA for the given names), `crl.pem`, `acl`.
/// - `aggregator.pem` + `aggregator.key`: this aggregator's client certificate, CN `svc.aggregator.{instance_id}`.
public struct BrokerConfigGenerator: Sendable {
    /// Which broker the directory is for.
    public enum Format: String, Sendable, CaseIterable {
        /// `mosquitto.conf` and its `acl`.
        case mosquitto
        /// EMQX 5's `acl.conf` (file authorizer) instead; the certificates and CRL are the same,
        /// the listener settings are the operator's (docs/scale.md lists what Outpost needs).
        case emqx
    }

    public struct Options: Sendable {
        /// Defaults to mosquitto.
        public var format: Format = .mosquitto
        /// Address the listener binds. Defaults to 127.0.0.1: exposing the broker is a decision.
        public var listenHost: String = "127.0.0.1"
        public var port: Int = 8883
        /// IP addresses and DNS names the server certificate is valid for.
        public var ipAddresses: [String] = ["127.0.0.1", "::1"]
        public var dnsNames: [String] = ["localhost"]
        /// Service identities besides this aggregator's, e.g. other aggregators' `svc.aggregator.b`.
        public var extraServices: [String] = []
        /// Queued QoS 1 messages per client before the broker drops. Sized for an aggregator's
        /// shared subscription falling behind for a while; every drop is made harmless by the
        /// end-to-end ack (unacked readings are re-sent), but drops should be rare.
        public var maxQueuedMessages: Int = 200_000
        /// Byte cap on each client's queue: 256 MiB, so one stuck client cannot eat the broker's memory.
        public var maxQueuedBytes: Int = 256 * 1024 * 1024
        /// QoS 1 messages in flight to each client at once. Defaults to 100.
        public var maxInflightMessages: Int = 100
        /// Largest PUBLISH payload the broker accepts: the wire cap (256 KiB), so a message
        /// the centre would refuse anyway never reaches its memory (mosquitto drops it).
        public var messageSizeLimit: Int = WireLimits.standard.maxPayloadBytes
        /// Largest MQTT packet: the payload cap plus 4 KiB for the topic and properties.
        /// mosquitto disconnects a client that sends a larger one.
        public var maxPacketSize: Int = WireLimits.standard.maxPayloadBytes + 4_096
        public var persistenceDir: String = "/var/lib/mosquitto/"
        public var logDest: String = "syslog"
        /// `user` line: the account mosquitto drops to. Defaults to `mosquitto`.
        public var runAsUser: String = "mosquitto"
        /// Group owning `server.key` (mode 0640), so mosquitto can re-read it after dropping
        /// privileges. Defaults to none (the writer's group).
        public var serverKeyGroup: gid_t?
        /// Lifetime of the server and aggregator certificates. Defaults to 365 days; regenerate before.
        public var lifetime: Duration = .seconds(365 * 86_400)
        /// The `outpost_subscribe_guard` mosquitto plugin (`packaging/mosquitto-plugin/`), loaded
        /// with a `plugin` line: it refuses every SUBSCRIBE of a device that is not for its own
        /// `ack` or `cmd` (the `acl_file` grants them all, `$share/…` included). Defaults to
        /// the packaged one when it is installed, else none.
        public var subscribeGuard: String? = FileManager.default.fileExists(atPath: Options.packagedSubscribeGuard)
            ? Options.packagedSubscribeGuard : nil
        /// Where the aggregator package installs the plugin.
        public static let packagedSubscribeGuard = "/usr/lib/outpost-aggregator/mosquitto/outpost_subscribe_guard.so"
        public init() {}
    }

    public struct Output: Sendable {
        public var configFile: String
        public var serverSerial: String
        public var aggregatorSerial: String
    }

    public let authority: CertificateAuthority
    public let store: CertificatesStore
    public let revocation: Revocation
    public let serviceIdentity: String

    public init(authority: CertificateAuthority, store: CertificatesStore, revocation: Revocation, serviceIdentity: String) {
        self.authority = authority
        self.store = store
        self.revocation = revocation
        self.serviceIdentity = serviceIdentity
    }

    public func write(to directory: String, options: Options) async throws -> Output {
        try IdentityFiles.createDirectory(directory, mode: 0o755)
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try IdentityFiles.write(authority.certificatePEM, to: path("ca.pem"), mode: 0o644)
        let server = try await issue(commonName: "outpost-broker", purpose: "server",
                                     usage: .server(ipAddresses: options.ipAddresses, dnsNames: options.dnsNames),
                                     lifetime: options.lifetime, certificate: path("server.pem"), key: path("server.key"), keyMode: 0o640,
                                     keyGroup: options.serverKeyGroup)
        let aggregator = try await issue(commonName: serviceIdentity, purpose: "service", usage: .client, lifetime: options.lifetime,
                                         certificate: path("aggregator.pem"), key: path("aggregator.key"), keyMode: 0o600)
        let acl = BrokerACL(serviceIdentities: [serviceIdentity] + options.extraServices)
        if revocation.crlFile != path("crl.pem") || !FileManager.default.fileExists(atPath: path("crl.pem")) {
            try await revocation.publishCRL()
        }
        if options.format == .emqx {
            try IdentityFiles.write(acl.renderEMQX(), to: path("acl.conf"), mode: 0o644)
            return Output(configFile: path("acl.conf"), serverSerial: server, aggregatorSerial: aggregator)
        }
        try IdentityFiles.write(acl.renderMosquitto(), to: path("acl"), mode: 0o644)
        try IdentityFiles.write(Self.render(directory: directory, crlFile: revocation.crlFile, pidFile: revocation.reloader.pidFile,
                                         options: options),
                             to: path("mosquitto.conf"), mode: 0o644)
        return Output(configFile: path("mosquitto.conf"), serverSerial: server, aggregatorSerial: aggregator)
    }

    private func issue(commonName: String, purpose: String, usage: CertificateAuthority.Usage, lifetime: Duration, certificate: String,
                       key: String, keyMode: mode_t, keyGroup: gid_t? = nil) async throws -> String {
        try await IssuedFiles.issue(authority, store: store, commonName: commonName, usage: usage, lifetime: lifetime, purpose: purpose,
                                    certificate: certificate, key: key, keyMode: keyMode, keyGroup: keyGroup).serialNumber.hex
    }

    static func render(directory: String, crlFile: String, pidFile: String, options: Options) -> String {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        return """
            # Generated by outpost-aggregator broker-config. Do not edit; regenerate.
            # Reload (SIGHUP) re-reads the ACL and the CRL; `outpost-aggregator cert revoke` does it.
            per_listener_settings false
            allow_anonymous false
            pid_file \(pidFile)
            user \(options.runAsUser)

            listener \(options.port) \(options.listenHost)
            protocol mqtt
            tls_version tlsv1.2
            cafile \(path("ca.pem"))
            certfile \(path("server.pem"))
            keyfile \(path("server.key"))
            crlfile \(crlFile)
            # Only certificates of the fleet CA; the CN is the identity.
            require_certificate true
            use_identity_as_username true
            # The client id is forced to the CN: no client can take over another's session.
            use_username_as_clientid true
            acl_file \(path("acl"))
            \(options.subscribeGuard.map { "# Devices may subscribe only to their own ack and cmd (the acl_file grants any filter).\nplugin \($0)" }
                ?? "# No subscribe guard plugin: devices may subscribe to any filter, $share/… included (docs/identity.md).")

            # Queue limits, set on purpose (see DESIGN.md): the default 1000 dropped most of a burst.
            max_queued_messages \(options.maxQueuedMessages)
            max_queued_bytes \(options.maxQueuedBytes)
            max_inflight_messages \(options.maxInflightMessages)
            # Size caps consistent with the wire cap (256 KiB payload): a larger publish is
            # dropped (payload) or ends the connection (packet) before it costs memory.
            message_size_limit \(options.messageSizeLimit)
            max_packet_size \(options.maxPacketSize)
            # Persistent sessions survive a broker restart (aggregators use session expiry).
            persistence true
            persistence_location \(options.persistenceDir)
            autosave_interval 60

            log_dest \(options.logDest)
            log_type error
            log_type warning
            log_type notice
            log_type information
            connection_messages true

            """
    }
}
