import ArgumentParser
import Foundation
import Logging
import OutpostSupport
import OutpostWire

/// Runs `body` with the configuration, a running PostgreSQL pool and the CA loaded.
struct DeviceIdentityContext {
    let configuration: AggregatorConfiguration
    let database: Database
    let authority: CertificateAuthority
    let certificates: CertificatesStore
    let enrollmentTokens: EnrollmentTokensStore
    let logger: Logger

    static func with<T: Sendable>(config path: String, label: String,
                                  _ body: @Sendable (DeviceIdentityContext) async throws -> T) async throws -> T {
        let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: path)
        configuration.logging.bootstrap()
        let logger = Logger(label: label)
        let authority = try CertificateAuthority.load(directory: configuration.caDirectory)
        let database = try Database(settings: configuration.postgres, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            let context = DeviceIdentityContext(configuration: configuration, database: database, authority: authority,
                                                certificates: CertificatesStore(client: database.client, logger: logger),
                                                enrollmentTokens: EnrollmentTokensStore(client: database.client, logger: logger),
                                                logger: logger)
            return try await body(context)
        }
    }

    var revocation: Revocation {
        Revocation(configuration: configuration, authority: authority, store: certificates, logger: logger)
    }

    /// The operations the admin API runs too, so both sides issue, revoke and audit alike.
    var operations: IdentityOperations {
        IdentityOperations(
            tokens: EnrollmentTokenIssuer(configuration: configuration, authority: authority, store: enrollmentTokens, logger: logger),
            revocation: revocation)
    }

    var audit: AuditLog { AuditLog(client: database.client, logger: logger) }

    /// The operator at the terminal, for the audit log (`cli:{unix user}`).
    static var origin: AuditLog.Origin {
        .cli(account: ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root")
    }
}

/// Prints `error: {code}: {message}` on one line and exits non-zero.
func reportingIdentityErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as IdentityError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(error.code.httpStatus >= 500 ? 3 : 2)
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

extension AggregatorCommand {
    /// `outpost-aggregator ca …`.
    struct CA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca", abstract: "The fleet's certificate authority.", subcommands: [Initialize.self, ServerCertificate.self, ServiceCertificate.self])

        /// `ca init`: a P-256 CA in `{state_dir}/ca`.
        struct Initialize: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the CA (P-256) in the state directory.")

            @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
            @Option(help: "The CA certificate's CN.") var name: String = "Outpost Fleet CA"
            @Flag(help: "Replace an existing CA. Every issued certificate stops working.") var overwrite = false

            func run() async throws {
                try await reportingIdentityErrors {
                    let configuration = try ConfigLoader().load(AggregatorConfiguration.self, path: config)
                    let authority = try CertificateAuthority.initialize(directory: configuration.caDirectory, name: name, overwrite: overwrite)
                    print("CA created in \(configuration.caDirectory)")
                    print("fingerprint (SHA-256): \(authority.fingerprint.hex)")
                }
            }
        }

        /// `ca server-cert`: a certificate for the aggregator's own HTTPS endpoint (or any server).
        struct ServerCertificate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "server-cert", abstract: "Issue a TLS server certificate (e.g. for http.cert_file).")

            @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
            @Option(name: .customLong("ip"), help: "IP address the certificate is valid for. Repeatable.") var ipAddresses: [String] = []
            @Option(name: .customLong("dns"), help: "DNS name the certificate is valid for. Repeatable.") var dnsNames: [String] = []
            @Option(help: "Certificate output (PEM).") var certOut: String
            @Option(help: "Key output (PEM, mode 0600).") var keyOut: String
            @Option(help: "Lifetime, e.g. 365d.") var lifetime: String = "365d"

            func run() async throws {
                try await reportingIdentityErrors {
                    guard let duration = DurationText.parse(lifetime) else { throw ValidationError("--lifetime: use e.g. 90s, 15m, 24h, 365d") }
                    try await DeviceIdentityContext.with(config: config, label: "aggregator.ca") { context in
                        let names = dnsNames.isEmpty && ipAddresses.isEmpty ? ["localhost"] : dnsNames
                        let certificate = try await IssuedFiles.issue(
                            context.authority, store: context.certificates, commonName: names.first ?? ipAddresses[0],
                            usage: .server(ipAddresses: ipAddresses, dnsNames: names), lifetime: duration, purpose: "server",
                            certificate: certOut, key: keyOut)
                        print("issued \(certificate.serialNumber.hex) to \(certOut)")
                    }
                }
            }
        }
    }

    /// `ca service-cert`: a client certificate for another service process, e.g. a second aggregator.
    struct ServiceCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "service-cert",
            abstract: "Issue a service client certificate (CN svc.…), e.g. for another aggregator's mqtt.cert_file.")

        @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "The identity, e.g. svc.aggregator.b. Add it to the broker ACL with broker-config --service.") var name: String
        @Option(help: "Certificate output (PEM).") var certOut: String
        @Option(help: "Key output (PEM, mode 0600).") var keyOut: String
        @Option(help: "Lifetime, e.g. 365d.") var lifetime: String = "365d"

        func validate() throws {
            guard BrokerACL.isServiceIdentity(name) else { throw ValidationError("--name must be a service identity (svc.<name>)") }
            guard DurationText.parse(lifetime) != nil else { throw ValidationError("--lifetime: use e.g. 90s, 15m, 24h, 365d") }
        }

        func run() async throws {
            try await reportingIdentityErrors {
                try await DeviceIdentityContext.with(config: config, label: "aggregator.ca") { context in
                    let certificate = try await IssuedFiles.issue(
                        context.authority, store: context.certificates, commonName: name, usage: .client,
                        lifetime: DurationText.parse(lifetime)!, purpose: "service", certificate: certOut, key: keyOut)
                    print("issued \(certificate.serialNumber.hex) (\(name)) to \(certOut)")
                }
            }
        }
    }

    /// `outpost-aggregator token create`.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "One-time enrollment tokens.", subcommands: [Create.self])

        /// `token create --device ID`, or `--device-prefix P --count N --out FILE` for many devices at once.
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "create",
                abstract: "Create a one-time enrollment token for a device and print the enroll command.",
                discussion: """
                    With --device-prefix and --count it creates one token per device PREFIX00001, PREFIX00002, … \
                    (the index zero-padded to 5 digits, from --start) in one transaction, writes them one per line \
                    to --out (mode 0600) and prints only a summary, never a token.
                    """)

            /// Most tokens one bulk call creates.
            static let maximumCount = 100_000

            @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
            @Option(help: "Device id ([a-z0-9][a-z0-9-]{0,62}).") var device: String?
            @Option(help: "Bulk: device ids are this prefix plus a zero-padded index, e.g. sim- → sim-00001.") var devicePrefix: String?
            @Option(help: "Bulk: how many tokens (1-\(maximumCount)).") var count: Int?
            @Option(help: "Bulk: the first index.") var start: Int = 1
            @Option(help: "Bulk: the file the tokens are written to, one per line (mode 0600).") var out: String?
            @Option(help: "meter or camera.") var kind: String = "meter"
            @Option(help: "How long the token is valid, e.g. 30m, 24h, 7d. Defaults to identity.token_ttl_seconds.") var ttl: String?

            /// The devices of a bulk call, in index order.
            static func bulkDevices(prefix: String, count: Int, start: Int) -> [DeviceID]? {
                var devices: [DeviceID] = []
                devices.reserveCapacity(count)
                for index in start..<(start + count) {
                    let digits = String(index)
                    guard let id = DeviceID(prefix + String(repeating: "0", count: max(0, 5 - digits.count)) + digits) else { return nil }
                    devices.append(id)
                }
                return devices
            }

            func validate() throws {
                guard EnrollmentTokenIssuer.kinds.contains(kind) else { throw ValidationError("--kind must be meter or camera") }
                if let ttl, DurationText.parse(ttl) == nil { throw ValidationError("--ttl: use e.g. 90s, 15m, 24h, 7d") }
                switch (device, devicePrefix) {
                case (.some(let device), nil):
                    guard DeviceID(device) != nil else { throw ValidationError("--device must match [a-z0-9][a-z0-9-]{0,62}") }
                    guard count == nil, out == nil else { throw ValidationError("--count and --out go with --device-prefix, not --device") }
                case (nil, .some(let prefix)):
                    guard let count, (1...Self.maximumCount).contains(count) else {
                        throw ValidationError("--count must be 1-\(Self.maximumCount) with --device-prefix")
                    }
                    guard start >= 0 else { throw ValidationError("--start must be 0 or more") }
                    guard let out, !out.isEmpty else { throw ValidationError("--out FILE is required with --device-prefix") }
                    guard Self.bulkDevices(prefix: prefix, count: count, start: start) != nil else {
                        throw ValidationError("--device-prefix: \(prefix)<index> must be a device id ([a-z0-9][a-z0-9-]{0,62})")
                    }
                default:
                    throw ValidationError("give either --device ID or --device-prefix PREFIX --count N --out FILE")
                }
            }

            func run() async throws {
                try await reportingIdentityErrors {
                    try await DeviceIdentityContext.with(config: config, label: "aggregator.token") { context in
                        if let devicePrefix, let count, let out {
                            try await createBulk(context, devices: Self.bulkDevices(prefix: devicePrefix, count: count, start: start)!, out: out)
                            return
                        }
                        let issued = try await context.operations.createToken(
                            device: DeviceID(device!)!, kind: kind, lifetime: ttl.flatMap(DurationText.parse),
                            origin: DeviceIdentityContext.origin, audit: context.audit)
                        let token = issued.token, expiresAt = issued.expiresAt
                        print("token: \(token.printed)")
                        print("expires: \(ISO8601DateFormatter().string(from: expiresAt))")
                        print("on the device, run:")
                        print("  \(issued.enrollCommand)")
                    }
                }
            }

            /// Stores the tokens, then writes the file. Should the write fail, the stored tokens
            /// are useless without their secrets and simply expire.
            private func createBulk(_ context: DeviceIdentityContext, devices: [DeviceID], out: String) async throws {
                let issued = try await context.operations.createTokens(
                    devices: devices, kind: kind, lifetime: ttl.flatMap(DurationText.parse), origin: DeviceIdentityContext.origin,
                    audit: context.audit)
                let text = issued.map { $0.token.printed + "\n" }.joined()
                try IdentityFiles.write(text, to: out, mode: 0o600)
                let expiry = issued.first.map { ISO8601DateFormatter().string(from: $0.expiresAt) } ?? ""
                print("created \(issued.count) tokens (\(kind)) for \(devices[0]) … \(devices[devices.count - 1]); "
                      + "expires \(expiry); written to \(out) (mode 0600)")
            }
        }
    }

    /// `outpost-aggregator cert …`.
    struct Cert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cert", abstract: "Revocation and the CRL.", subcommands: [Revoke.self, PublishCRL.self])

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "revoke", abstract: "Revoke every certificate of a device, reload the broker's CRL, end its session.")

            @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
            @Option(help: "Device id.") var device: String

            func run() async throws {
                try await reportingIdentityErrors {
                    guard let id = DeviceID(device) else { throw IdentityError(.unknownDevice, "\(device.prefix(64)) is not a device id") }
                    try await DeviceIdentityContext.with(config: config, label: "aggregator.revoke") { context in
                        let outcome = try await context.operations.revokeCertificates(device: id, origin: DeviceIdentityContext.origin,
                                                                                      audit: context.audit)
                        print("revoked \(id): \(outcome.revokedSerials.count) certificate(s); CRL has \(outcome.crlEntries) entries; "
                              + (outcome.sessionEnded ? "any live session closed" : "live session NOT closed (no broker configured)"))
                    }
                }
            }
        }

        struct PublishCRL: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "crl", abstract: "Re-sign and publish the CRL (before identity.crl_validity_seconds runs out), then reload the broker.")

            @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath

            func run() async throws {
                try await reportingIdentityErrors {
                    try await DeviceIdentityContext.with(config: config, label: "aggregator.crl") { context in
                        let entries = try await context.revocation.publishCRL()
                        try context.revocation.reloadAll()
                        print("CRL with \(entries) entries written to \(context.revocation.targets.map(\.crlFile).joined(separator: ", "))")
                    }
                }
            }
        }
    }

    /// `outpost-aggregator broker-config --out DIR`.
    struct BrokerConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "broker-config", abstract: "Write mosquitto.conf, certificates, CRL and ACL for the fleet's broker.")

        @Option(help: "Configuration file.") var config: String = AggregatorConfiguration.defaultPath
        @Option(help: "Output directory.") var out: String
        @Option(help: "Address the broker listens on.") var listen: String = "127.0.0.1"
        @Option(help: "Port; defaults to mqtt.port.") var port: Int?
        @Option(name: .customLong("ip"), help: "IP address for the broker certificate. Repeatable; defaults to 127.0.0.1 and ::1.")
        var ipAddresses: [String] = []
        @Option(name: .customLong("dns"), help: "DNS name for the broker certificate. Repeatable; defaults to localhost.")
        var dnsNames: [String] = []
        @Option(name: .customLong("service"), help: "Another service identity (svc.…) allowed the service ACL. Repeatable.")
        var services: [String] = []
        @Option(help: "mosquitto's persistence directory.") var persistenceDir: String = "/var/lib/mosquitto/"
        @Option(help: "mosquitto log_dest.") var logDest: String = "syslog"
        @Option(help: "The user mosquitto drops privileges to.") var user: String = "mosquitto"
        @Option(help: "Group that owns server.key (0640), e.g. mosquitto.") var keyGroup: String?
        @Option(help: """
            The outpost_subscribe_guard mosquitto plugin; defaults to the packaged one when installed. \
            "none" leaves devices free to subscribe to any filter.
            """) var subscribeGuard: String?
        @Option(help: "mosquitto (mosquitto.conf and acl) or emqx (EMQX 5 acl.conf; see docs/scale.md).")
        var format: BrokerConfigGenerator.Format = .mosquitto
        @Option(help: "With a `brokers` list: the broker (by name) to write for; its port and pid file are the defaults. Run once per broker.")
        var broker: String?

        func run() async throws {
            try await reportingIdentityErrors {
                try await DeviceIdentityContext.with(config: config, label: "aggregator.broker-config") { context in
                    let brokers = context.configuration.resolvedBrokers
                    guard let target = broker.map({ name in brokers.first { $0.name == name } }) ?? brokers.first else {
                        throw IdentityError(.fileWriteFailed,
                                            "no broker named \(broker ?? "") in the configuration (\(brokers.map(\.name).joined(separator: ", ")))")
                    }
                    var options = BrokerConfigGenerator.Options()
                    options.listenHost = listen
                    options.port = port ?? target.settings.port
                    if !ipAddresses.isEmpty { options.ipAddresses = ipAddresses }
                    if !dnsNames.isEmpty { options.dnsNames = dnsNames }
                    options.extraServices = services
                    options.format = format
                    options.persistenceDir = persistenceDir
                    options.logDest = logDest
                    options.runAsUser = user
                    if let subscribeGuard {
                        guard subscribeGuard == "none" || FileManager.default.fileExists(atPath: subscribeGuard) else {
                            throw IdentityError(.fileWriteFailed, "no subscribe guard plugin at \(subscribeGuard)")
                        }
                        options.subscribeGuard = subscribeGuard == "none" ? nil : subscribeGuard
                    }
                    if let keyGroup {
                        guard let entry = getgrnam(keyGroup) else { throw IdentityError(.fileWriteFailed, "no group \(keyGroup)") }
                        options.serverKeyGroup = entry.pointee.gr_gid
                    }
                    let revocation = context.revocation
                    let generator = BrokerConfigGenerator(authority: context.authority, store: context.certificates, revocation: Revocation(
                        authority: revocation.authority, store: revocation.store,
                        crlFile: (out as NSString).appendingPathComponent("crl.pem"), crlValidity: revocation.crlValidity,
                        reloader: BrokerReloader(pidFile: target.pidFile, mode: context.configuration.identity.brokerReload),
                        broker: target.settings, logger: revocation.logger),
                        serviceIdentity: context.configuration.serviceIdentity)
                    let output = try await generator.write(to: out, options: options)
                    print("wrote \(output.configFile)")
                    if context.configuration.brokers.isEmpty {
                        print("set identity.broker_dir to \(out) so that `cert revoke` updates this CRL")
                    } else {
                        print("set brokers[\(target.name)].broker_dir to \(out) so that `cert revoke` updates this CRL")
                    }
                }
            }
        }
    }
}

extension BrokerConfigGenerator.Format: ExpressibleByArgument {}
