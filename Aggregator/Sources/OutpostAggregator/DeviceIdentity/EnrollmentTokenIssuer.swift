import Foundation
import Logging
import OutpostWire

/// Creates one-time enrollment tokens: the one code path behind `token create` and
/// `POST /api/v1/enrollment-tokens`. Only the token's hash is stored; the printed token
/// exists once, in the returned value, and is never logged.
public struct EnrollmentTokenIssuer: Sendable {
    /// Device kinds a token may enroll.
    public static let kinds: Set<String> = ["meter", "camera"]

    /// A created token and the command that enrolls with it.
    public struct Issued: Sendable {
        public let token: EnrollmentToken
        /// The stored hash: the token's id in the admin API.
        public let hash: String
        public let kind: String
        public let expiresAt: Date
        public let enrollCommand: String
    }

    let store: EnrollmentTokensStore
    let caFingerprint: CertificateFingerprint
    let enrollURL: String
    let defaultLifetime: Duration
    let logger: Logger

    public init(store: EnrollmentTokensStore, caFingerprint: CertificateFingerprint, enrollURL: String, defaultLifetime: Duration, logger: Logger) {
        self.store = store
        self.caFingerprint = caFingerprint
        self.enrollURL = enrollURL
        self.defaultLifetime = defaultLifetime
        self.logger = logger
    }

    /// The CA's fingerprint, `identity.enroll_url` and `identity.token_ttl_seconds`, as `token create` uses them.
    public init(configuration: AggregatorConfiguration, authority: CertificateAuthority, store: EnrollmentTokensStore, logger: Logger) {
        self.init(store: store, caFingerprint: authority.fingerprint, enrollURL: configuration.enrollURL,
                  defaultLifetime: .seconds(configuration.identity.tokenTtlSeconds), logger: logger)
    }

    /// Stores a new token for `device` (creating the device row if new); `lifetime` defaults to
    /// `identity.token_ttl_seconds`.
    public func create(device: DeviceID, kind: String, lifetime: Duration?) async throws -> Issued {
        let token = makeToken(device)
        let expiresAt = Date().addingTimeInterval((lifetime ?? defaultLifetime).seconds)
        let hash = EnrollmentService.tokenHash(token)
        try await store.createToken(hash: hash, device: device.rawValue, kind: kind, expiresAt: expiresAt)
        logger.info("enrollment token created", metadata: ["device": "\(device)", "expires_at": "\(expiresAt)"])
        return issued(token, hash: hash, kind: kind, expiresAt: expiresAt)
    }

    /// Stores one token per device in a single transaction (all or none), for fleets and
    /// load tests: `token create --device-prefix … --count …`. Every token expires together.
    /// - Throws: ``IdentityError`` `.invalidRequest` when a device appears twice.
    public func createBatch(devices: [DeviceID], kind: String, lifetime: Duration?) async throws -> [Issued] {
        guard Set(devices).count == devices.count else { throw IdentityError(.malformedRequest, "a device id appears twice in the batch") }
        let expiresAt = Date().addingTimeInterval((lifetime ?? defaultLifetime).seconds)
        let tokens = devices.map { makeToken($0) }
        let hashes = tokens.map { EnrollmentService.tokenHash($0) }
        try await store.createTokens(zip(hashes, devices).map { (hash: $0, device: $1.rawValue) }, kind: kind, expiresAt: expiresAt)
        logger.info("enrollment tokens created", metadata: [
            "count": "\(devices.count)", "first": "\(devices.first.map(\.rawValue) ?? "")", "last": "\(devices.last.map(\.rawValue) ?? "")",
            "expires_at": "\(expiresAt)",
        ])
        return zip(tokens, hashes).map { issued($0, hash: $1, kind: kind, expiresAt: expiresAt) }
    }

    private func makeToken(_ device: DeviceID) -> EnrollmentToken {
        var secret = [UInt8](repeating: 0, count: EnrollmentToken.secretLength)
        var generator = SystemRandomNumberGenerator()
        for index in secret.indices { secret[index] = generator.next() }
        return EnrollmentToken(device: device, secret: secret, caFingerprint: caFingerprint)
    }

    private func issued(_ token: EnrollmentToken, hash: String, kind: String, expiresAt: Date) -> Issued {
        Issued(token: token, hash: hash, kind: kind, expiresAt: expiresAt,
               enrollCommand: "outpost-agent enroll --server \(enrollURL) --token \(token.printed)")
    }
}

extension Revocation {
    /// The revocation the configuration describes: for every broker (``AggregatorConfiguration/resolvedBrokers``),
    /// the CRL in its directory (`identity.broker_dir` for the one broker of `mqtt`), the broker reloaded
    /// as `identity.broker_reload` says, live sessions ended there. Shared by `cert revoke` and the admin API.
    public init(configuration: AggregatorConfiguration, authority: CertificateAuthority, store: CertificatesStore, logger: Logger) {
        self.init(authority: authority, store: store, crlValidity: .seconds(configuration.identity.crlValiditySeconds),
                  targets: configuration.resolvedBrokers.map { broker in
                      Target(name: broker.name, crlFile: broker.crlFile,
                             reloader: BrokerReloader(pidFile: broker.pidFile, mode: configuration.identity.brokerReload), broker: broker.settings)
                  }, logger: logger)
    }
}
