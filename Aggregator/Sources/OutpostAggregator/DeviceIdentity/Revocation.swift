import Crypto
import Foundation
import Logging
import OutpostMQTT
import OutpostWire
import X509

/// `cert revoke`: revokes a device in PostgreSQL, publishes the new CRL where the broker
/// reads it, makes the broker reload it, and ends the device's live MQTT session.
///
/// Ending the session: mosquitto 2.0 checks the CRL only at the TLS handshake, so a
/// revoked device that is already connected would stay connected. The broker config sets
/// `use_username_as_clientid`, so a device's client id is always its CN. The CA therefore
/// mints a one-off *session terminator* certificate with the device's CN, connects with it
/// (clean start), and the broker closes the device's connection as MQTT requires for a
/// second client with the same id ("session taken over", reason 0x8E); the terminator then
/// disconnects, which discards the session. Its certificate lives five minutes, its key
/// only in a private temporary directory, and it is revoked right after use.
///
/// Order matters: the terminator connects only after the broker provably enforces the
/// new CRL (a revoked *probe* certificate is refused), so the device cannot slip back in.
public struct Revocation: Sendable {
    /// One broker a revocation must reach: where its CRL is written, how it reloads, where it listens.
    public struct Target: Sendable {
        public var name: String
        public var crlFile: String
        public var reloader: BrokerReloader
        /// Where the broker listens, with `ca_file` the fleet CA; nil skips ending live sessions there.
        public var broker: BrokerSettings?

        public init(name: String, crlFile: String, reloader: BrokerReloader, broker: BrokerSettings?) {
            self.name = name
            self.crlFile = crlFile
            self.reloader = reloader
            self.broker = broker
        }
    }

    public let authority: CertificateAuthority
    public let store: CertificatesStore
    public let crlValidity: Duration
    /// Every broker, the first one's CRL the one checked for freshness. With several brokers
    /// the same CRL is written for each, each is reloaded, and the session is ended on each.
    public let targets: [Target]
    public let logger: Logger

    /// The first broker's CRL file.
    public var crlFile: String { targets[0].crlFile }
    /// The first broker's reloader.
    public var reloader: BrokerReloader { targets[0].reloader }
    /// The first broker's address.
    public var broker: BrokerSettings? { targets[0].broker }

    public init(authority: CertificateAuthority, store: CertificatesStore, crlValidity: Duration, targets: [Target], logger: Logger) {
        precondition(!targets.isEmpty, "a revocation needs at least one broker")
        self.authority = authority
        self.store = store
        self.crlValidity = crlValidity
        self.targets = targets
        self.logger = logger
    }

    /// One broker.
    public init(authority: CertificateAuthority, store: CertificatesStore, crlFile: String, crlValidity: Duration, reloader: BrokerReloader,
                broker: BrokerSettings?, logger: Logger) {
        self.init(authority: authority, store: store, crlValidity: crlValidity,
                  targets: [Target(name: AggregatorConfiguration.defaultBrokerName, crlFile: crlFile, reloader: reloader, broker: broker)],
                  logger: logger)
    }

    /// Reloads every broker; tries them all, then throws the first failure.
    public func reloadAll() throws(IdentityError) {
        if let failure = reloadEach().first?.error { throw failure }
    }

    /// Reloads every broker and returns those that failed, in configuration order.
    private func reloadEach() -> [(broker: String, error: IdentityError)] {
        var failures: [(broker: String, error: IdentityError)] = []
        for target in targets {
            do throws(IdentityError) {
                try target.reloader.reload()
            } catch {
                logger.warning("broker not reloaded", metadata: ["broker": "\(target.name)", "error": "\(error)"])
                failures.append((target.name, error))
            }
        }
        return failures
    }

    /// What a revocation did.
    public struct Outcome: Sendable {
        public var revokedSerials: [String]
        public var crlEntries: Int
        /// The broker took the session over: whatever connection the device had is closed.
        public var sessionEnded: Bool
    }

    /// Writes the CRL of every revoked, unexpired certificate (mode 0644: it is public).
    @discardableResult
    public func publishCRL() async throws -> Int {
        try await store.withCRLPublicationLock { try await signAndWriteCRL() }
    }

    /// Re-signs and publishes the CRL when the one at ``crlFile`` has less than half of
    /// ``crlValidity`` left (or cannot be read), then reloads the broker. Returns whether it did.
    ///
    /// The check runs again under the publication lock (a PostgreSQL advisory lock), so when
    /// several aggregators share the file, one re-issues and the others find it fresh.
    public func refreshCRLIfDue(now: @escaping @Sendable () -> Date = { Date() }) async throws -> Bool {
        guard isCRLDue(at: now()) else { return false }
        let published = try await store.withCRLPublicationLock { () async throws -> Bool in
            guard isCRLDue(at: now()) else { return false }
            _ = try await signAndWriteCRL()
            return true
        }
        guard published else { return false }
        logger.notice("CRL re-issued before it lapses", metadata: ["crl_file": "\(crlFile)", "validity": "\(crlValidity)"])
        try reloadAll()
        return true
    }

    /// Less than half of ``crlValidity`` left on any broker's published CRL, or one not readable.
    func isCRLDue(at now: Date) -> Bool {
        targets.contains { target in
            guard let text = try? String(contentsOfFile: target.crlFile, encoding: .utf8),
                  let validity = CertificateRevocationList.validity(pem: text)
            else { return true }
            return validity.nextUpdate.timeIntervalSince(now) < crlValidity.seconds / 2
        }
    }

    /// Signs the CRL of every revoked, unexpired certificate and writes it; call under the publication lock.
    private func signAndWriteCRL() async throws -> Int {
        let entries = try await store.revokedCertificates().compactMap { entry in
            Certificate.SerialNumber(hex: entry.serial).map { (serial: $0, revokedAt: entry.revokedAt) }
        }
        let crl = try authority.revocationList(revoked: entries, number: try await store.nextCRLNumber(), nextUpdate: crlValidity)
        for target in targets { try IdentityFiles.write(crl.pemString, to: target.crlFile, mode: 0o644) }
        return entries.count
    }

    /// Revokes `device` on every broker: the CRL is written for each and each reloaded; then,
    /// broker by broker, a revoked probe must be refused before the device's session there is
    /// taken over. A broker that fails (its reload, the probe or the takeover) does not stop
    /// the others: every broker is tried, the terminator certificate is revoked whatever
    /// happened, and then the call fails with `broker_unreachable` naming every broker that
    /// failed (``IdentityError/brokers``). A dead mosquitto reads the CRL when it starts
    /// again, and repeating the call finishes the rest.
    public func revoke(device: DeviceID) async throws -> Outcome {
        let serials = try await store.revokeDevice(device.rawValue)
        logger.notice("device revoked", metadata: ["device": "\(device)", "serials": "\(serials.joined(separator: ","))"])
        guard targets.contains(where: { $0.broker != nil }) else {
            let count = try await publishCRL()
            let failures = reloadEach()
            guard failures.isEmpty else { throw Self.notEnforced(device, failures, order: targets) }
            return Outcome(revokedSerials: serials, crlEntries: count, sessionEnded: false)
        }
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let probe = try await mint(commonName: "svc.crl-probe", in: scratch)
        try await store.revokeCertificate(serial: probe.serial)
        _ = try await publishCRL()
        var failures = reloadEach()
        let terminator = try await mint(commonName: device.rawValue, in: scratch)
        var ended = true
        for target in targets {
            guard let broker = target.broker, !failures.contains(where: { $0.broker == target.name }) else { continue }
            do {
                try await waitUntilRefused(probe, broker: broker)
                let taken = try await takeOver(device: device, with: terminator, broker: broker)
                logger.notice("revoked device's session ended", metadata: ["device": "\(device)", "broker": "\(target.name)", "taken_over": "\(taken)"])
                ended = ended && taken
            } catch {
                logger.warning("revoked device's session not ended", metadata: ["device": "\(device)", "broker": "\(target.name)", "error": "\(error)"])
                failures.append((target.name, error as? IdentityError ?? IdentityError(.brokerUnreachable, "\(error)")))
            }
        }
        try await store.revokeCertificate(serial: terminator.serial)
        let count = try await publishCRL()
        for failure in reloadEach() where !failures.contains(where: { $0.broker == failure.broker }) { failures.append(failure) }
        guard failures.isEmpty else { throw Self.notEnforced(device, failures, order: targets) }
        return Outcome(revokedSerials: serials, crlEntries: count, sessionEnded: ended)
    }

    /// `broker_unreachable` naming, in configuration order, every broker where the revocation failed.
    private static func notEnforced(_ device: DeviceID, _ failures: [(broker: String, error: IdentityError)], order: [Target]) -> IdentityError {
        let names = order.map(\.name).filter { name in failures.contains { $0.broker == name } }
        return IdentityError(
            .brokerUnreachable,
            "\(device) is revoked and the CRL written for every broker, but not enforced on \(names.joined(separator: ", ")): "
                + failures.map { "\($0.broker): \($0.error.context)" }.joined(separator: "; "),
            brokers: names)
    }

    struct Minted {
        let serial: String
        let settings: (BrokerSettings) -> BrokerSettings
    }

    private func mint(commonName: String, in scratch: ScratchDirectory) async throws -> Minted {
        let key = P256.Signing.PrivateKey()
        let certificate = try authority.issue(commonName: commonName, publicKey: .init(key.publicKey), usage: .client, lifetime: .seconds(300))
        let keyFile = scratch.file("\(certificate.serialNumber.hex).key"), certificateFile = scratch.file("\(certificate.serialNumber.hex).pem")
        try IdentityFiles.write(key.pemRepresentation, to: keyFile, mode: 0o600)
        try IdentityFiles.write(try CertificateAuthority.pem(certificate), to: certificateFile, mode: 0o600)
        try await store.recordCertificate(
            .init(serial: certificate.serialNumber.hex, subject: commonName, deviceID: nil, purpose: "session_terminator",
                  notAfter: certificate.notValidAfter), notBefore: certificate.notValidBefore)
        return Minted(serial: certificate.serialNumber.hex) { base in
            var settings = base
            settings.certFile = certificateFile
            settings.keyFile = keyFile
            return settings
        }
    }

    /// Polls with the revoked probe until the broker refuses it (bounded: 15 s).
    private func waitUntilRefused(_ probe: Minted, broker: BrokerSettings) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let accepted = try await connectOnce(settings: probe.settings(broker), clientID: "svc.crl-probe")
            // Refused while the port accepts TCP: the handshake failed, so the CRL is in force.
            if !accepted && Self.acceptsTCP(host: broker.host, port: broker.port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw IdentityError(.brokerUnreachable, "the broker still accepts a revoked certificate 15 s after the reload")
    }

    private func takeOver(device: DeviceID, with terminator: Minted, broker: BrokerSettings) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if try await connectOnce(settings: terminator.settings(broker), clientID: device.rawValue) { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw IdentityError(.brokerUnreachable, "could not connect to the broker to end \(device)'s session")
    }

    /// Connects once (clean start, no session kept), disconnects, and says whether the broker accepted.
    private func connectOnce(settings: BrokerSettings, clientID: String) async throws -> Bool {
        var configuration = settings.clientConfiguration(clientID: clientID, sessionExpiry: 0)
        configuration.backoff = ReconnectBackoff(initial: 30, maximum: 30)
        let client = try MQTTClient(configuration: configuration, logger: logger)
        client.start()
        // The first verdict, or none within 10 s (a broker that accepts TCP but never answers).
        let accepted = await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                for await event in client.events {
                    if case .connected = event { return true }
                    if case .connectionFailed = event { return false }
                }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
        await client.shutdown()
        return accepted
    }
}

extension Revocation {
    /// True when a TCP connection to host:port opens.
    static func acceptsTCP(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if fd >= 0 {
                defer { close(fd) }
                if connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return true }
            }
            entry = current.pointee.ai_next
        }
        return false
    }
}

/// A private (0700) temporary directory for short-lived key files.
struct ScratchDirectory {
    let path: String

    init() throws(IdentityError) {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("outpost-ca-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw IdentityError(.fileWriteFailed, "mkdtemp failed") }
        path = String(cString: made)
        chmod(path, 0o700)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
