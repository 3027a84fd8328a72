import Crypto
import Foundation
import Hummingbird
import Logging
import OutpostAgent
import OutpostAggregator
import OutpostMQTT
import OutpostSupport
import OutpostWire
import PostgresNIO
import Synchronization
import TestHarness
import X509

/// Every log line of a test, to assert that no secret reached any of them.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func logger(_ label: String) -> Logger {
        let sink = LogSink { [self] line in append(line) }
        return Logger(label: label) { JSONLineLogHandler(label: $0, level: .trace, sink: sink) }
    }

    private func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }

    /// Lines that carry key material, a PEM block, or one of `secrets`.
    func leaks(_ secrets: [String]) -> [String] {
        all.filter { line in
            line.contains("PRIVATE KEY") || line.contains("-----BEGIN") || secrets.contains { !$0.isEmpty && line.contains($0) }
        }
    }
}

/// PostgreSQL with the migrations applied, a fleet CA, and the config endpoint on HTTPS
/// (server certificate from the CA, client certificates verified against it).
final class IdentityFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let postgres: PostgresServer
    let database: Database
    let authority: CertificateAuthority
    let certificates: CertificatesStore
    let enrollmentTokens: EnrollmentTokensStore
    let logs = LogCapture()
    /// The registry the config endpoint counts in.
    let metrics = AggregatorMetrics()
    var configuration: AggregatorConfiguration
    let httpPort: Int
    private var tasks: [Task<Void, Never>] = []

    var serverURL: String { "https://127.0.0.1:\(httpPort)" }
    var caFile: String { directory.file("state/ca/ca.pem") }

    init(certificateLifetime: Int = 30 * 86_400, mqtt: BrokerSettings? = nil) async throws {
        directory = try TemporaryDirectory(prefix: "outpost-identity")
        postgres = try await PostgresServer(directory: directory.path)
        httpPort = try FreePort.next()
        let stateDir = directory.file("state")
        authority = try CertificateAuthority.initialize(directory: (stateDir as NSString).appendingPathComponent("ca"))
        let serverKey = P256.Signing.PrivateKey()
        let serverCertificate = try authority.issue(commonName: "localhost", publicKey: .init(serverKey.publicKey),
                                                    usage: .server(ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"]), lifetime: .seconds(3600))
        try serverKey.pemRepresentation.write(toFile: directory.file("http.key"), atomically: true, encoding: .utf8)
        try serverCertificate.serializeAsPEM().pemString.write(toFile: directory.file("http.pem"), atomically: true, encoding: .utf8)
        configuration = AggregatorConfiguration(
            instanceID: "a1", stateDir: stateDir, migrationsDir: Self.migrationsDirectory,
            mqtt: mqtt ?? BrokerSettings(caFile: directory.file("state/ca/ca.pem"), certFile: "", keyFile: ""),
            postgres: PostgresSettings(port: postgres.port, username: postgres.user, database: postgres.database),
            http: HTTPSettings(host: "127.0.0.1", port: httpPort, certFile: directory.file("http.pem"), keyFile: directory.file("http.key"),
                               clientCaFile: directory.file("state/ca/ca.pem")),
            identity: IdentitySettings(certificateLifetimeSeconds: certificateLifetime, deviceBrokerHost: "127.0.0.1",
                                       deviceBrokerPort: 8883, brokerDir: directory.file("broker"), brokerPidFile: directory.file("broker/mosquitto.pid")))
        let logger = logs.logger("aggregator")
        database = try Database(settings: configuration.postgres, logger: logger)
        certificates = CertificatesStore(client: database.client, logger: logger)
        enrollmentTokens = EnrollmentTokensStore(client: database.client, logger: logger)
        let database = database
        tasks.append(Task { await database.client.run() })
        try await MigrationRunner(client: database.client, directory: configuration.migrationsDir, logger: logger).migrate()
    }

    /// Starts the config endpoint.
    func startHTTP() async throws {
        let service = EnrollmentService(configuration: configuration, authority: authority, certificates: certificates,
                                        enrollmentTokens: enrollmentTokens, logger: logs.logger("aggregator.enroll"))
        let routes = EnrollmentRoutes(service: service, metrics: metrics, requestsPerMinute: configuration.identity.configRequestsPerMinute,
                                      logger: logs.logger("aggregator.enroll"))
        let app = try HTTPServer.build(settings: configuration.http, providers: [routes], metrics: metrics,
                                       logger: logs.logger("aggregator.http"))
        tasks.append(Task { try? await app.runService(gracefulShutdownSignals: []) })
        try await waitUntil(timeout: .seconds(30), "the config endpoint on \(httpPort)") { [httpPort] in FreePort.isAccepting(httpPort) }
        // Something accepts on the port; make sure it is this endpoint, serving this CA.
        _ = try await ConfigEndpointClient(server: serverURL).fetchCertificateAuthority(expecting: authority.fingerprint)
    }

    /// A stored token for `device`, valid for `ttl` (negative: already expired).
    func makeToken(device: String, ttl: TimeInterval = 600) async throws -> EnrollmentToken {
        let token = EnrollmentToken(device: DeviceID(device)!, secret: (0..<32).map { _ in UInt8.random(in: 0...255) },
                                    caFingerprint: authority.fingerprint)
        try await enrollmentTokens.createToken(hash: EnrollmentService.tokenHash(token), device: device, kind: "meter",
                                               expiresAt: Date().addingTimeInterval(ttl))
        return token
    }

    func certificateCount(device: String) async throws -> Int {
        Int(try await postgres.psql("SELECT count(*) FROM certificates WHERE device_id = '\(device)'")) ?? -1
    }

    func stop() async {
        for task in tasks.reversed() { task.cancel() }
        for task in tasks.reversed() { await task.value }
        await postgres.stop()
        directory.remove()
    }

    static var migrationsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Aggregator/Migrations")
            .standardizedFileURL.path
    }
}
