import AsyncHTTPClient
import Foundation
import OutpostSupport
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import OutpostAggregator
import PostgresNIO
import Testing
import TestHarness

/// A real PostgreSQL with the real migrations, the real HTTPS server with the admin API,
/// and an HTTPS client whose every response is checked against the served OpenAPI document.
final class APITestEnvironment: Sendable {
    typealias Reply = AdminAPIClient.Reply

    let postgres: PostgresServer
    let client: PostgresPool
    let http: HTTPClient
    /// The HTTPS client that checks every response against the served OpenAPI document.
    let apiClient: AdminAPIClient
    var validator: OpenAPIValidator { apiClient.validator }
    let settings: APISettings
    let logger: Logger
    let api: AdminAPI
    /// The registry the admin API counts its refusals in.
    var metrics: AggregatorMetrics { api.metrics }
    /// The enrollment tokens the admin API issues.
    let enrollmentTokens: EnrollmentTokensStore
    /// The CRL the admin API's revocations publish.
    let crlFile: String
    /// Recordings are on, in this directory (segments as `{device}/{name}.mp4`).
    let recordingsDirectory: String
    /// The CA that issued the server's certificate (PEM), for clients outside this process.
    let caFile: String

    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Aggregator/Migrations").path

    /// The tables other parts of the aggregator own (ingest's readings and commands, identity's
    /// enrollment tokens and certificates), as
    /// DESIGN.md and their migrations define them, created only when the migrations here
    /// did not already.
    static let contractTables = [
        """
        CREATE TABLE IF NOT EXISTS readings (
            device text NOT NULL, buffer bigint NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL,
            metric text NOT NULL, value double precision NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (device, buffer, seq, ts))
        """,
        "CREATE INDEX IF NOT EXISTS readings_device_metric_ts ON readings (device, metric, ts)",
        "CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device, ts DESC)",
        """
        CREATE TABLE IF NOT EXISTS commands (
            id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
            device text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
            args jsonb NOT NULL DEFAULT '{}'::jsonb,
            status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'succeeded', 'failed', 'expired')),
            created_at timestamptz NOT NULL DEFAULT now(), created_by text NOT NULL, expires_at timestamptz NOT NULL,
            sent_at timestamptz, finished_at timestamptz, output jsonb, error_code text, error_message text)
        """,
        "CREATE INDEX IF NOT EXISTS commands_device_created ON commands (device, created_at DESC)",
        """
        CREATE TABLE IF NOT EXISTS enrollment_tokens (
            token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
            device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL,
            used_at timestamptz, used_serial text)
        """,
        """
        CREATE TABLE IF NOT EXISTS certificates (
            serial text PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'), subject text NOT NULL,
            device_id text REFERENCES devices (id) ON DELETE SET NULL,
            purpose text NOT NULL CHECK (purpose IN ('device', 'server', 'service', 'session_terminator')),
            not_before timestamptz NOT NULL, not_after timestamptz NOT NULL,
            issued_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz)
        """,
        // Migration 0032 adds this trigger only when `commands` exists when it runs, as it does after ingest's 0012.
        "DROP TRIGGER IF EXISTS commands_notify_status ON commands",
        """
        CREATE TRIGGER commands_notify_status AFTER UPDATE OF status ON commands
            FOR EACH ROW EXECUTE FUNCTION outpost_notify_command_status()
        """,
    ]

    /// Test settings: bcrypt cost 4 (the minimum) so logins are fast; generous general budget.
    static let defaultSettings = APISettings(bcryptCost: 4, maxBodyBytes: 16_384, loginPerIpPerMinute: 1000,
                                             loginPerUserPerMinute: 1000, requestsPerMinute: 100_000)

    private init(postgres: PostgresServer, client: PostgresPool, http: HTTPClient, apiClient: AdminAPIClient,
                 settings: APISettings, logger: Logger, api: AdminAPI, enrollmentTokens: EnrollmentTokensStore, crlFile: String,
                 recordingsDirectory: String, caFile: String) {
        self.caFile = caFile
        self.postgres = postgres
        self.client = client
        self.http = http
        self.apiClient = apiClient
        self.settings = settings
        self.logger = logger
        self.api = api
        self.enrollmentTokens = enrollmentTokens
        self.crlFile = crlFile
        self.recordingsDirectory = recordingsDirectory
    }

    /// Runs `body` against a fresh database and server; tears everything down afterwards.
    /// - Parameter brokers: the configured broker names `/devices/{id}/broker` knows.
    static func with(settings: APISettings = defaultSettings, brokers: [String] = [AggregatorConfiguration.defaultBrokerName],
                     _ body: (APITestEnvironment) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let postgres = try await PostgresServer(directory: directory.path)
        var logger = Logger(label: "test.api")
        logger.logLevel = .warning
        let client = PostgresPool(
            configuration: .init(host: "127.0.0.1", port: postgres.port, username: postgres.user, password: nil,
                                 database: postgres.database, tls: .disable),
            backgroundLogger: logger)
        let authority = try await TestCertificateAuthority(directory: directory.path)
        let identity = try await authority.issueServer()
        let port = try FreePort.next()
        let httpSettings = HTTPSettings(host: "127.0.0.1", port: port, certFile: identity.certificateFile, keyFile: identity.keyFile)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(authority.certificateFile)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let fleetCA = try CertificateAuthority.initialize(directory: directory.path + "/fleet-ca")
        let crlFile = directory.path + "/crl.pem"
        let broker = try HangupIgnoringProcess(directory: directory.path)
        let enrollmentTokens = EnrollmentTokensStore(client: client, logger: logger)
        let identityOperations = IdentityOperations(
            tokens: EnrollmentTokenIssuer(store: enrollmentTokens, caFingerprint: fleetCA.fingerprint, enrollURL: "https://127.0.0.1:8443",
                                          defaultLifetime: .seconds(3600), logger: logger),
            revocation: Revocation(authority: fleetCA, store: CertificatesStore(client: client, logger: logger), crlFile: crlFile,
                                   crlValidity: .seconds(86_400),
                                   reloader: BrokerReloader(pidFile: broker.pidFile), broker: nil, logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                try await MigrationRunner(client: client, directory: migrationsDirectory, logger: logger).migrate()
                for statement in contractTables { try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                let metrics = AggregatorMetrics()
                let recordings = RecordingSettings(enabled: true, directory: directory.path + "/recordings")
                let brokerDirectory = BrokerDirectory(assignment: BrokerAssignment(brokers: brokers), addresses: [:], client: client, logger: logger)
                let api = AdminAPI(client: client, settings: settings, identity: identityOperations, metrics: metrics, recordings: recordings,
                                   brokers: brokerDirectory, logger: logger)
                let app = try HTTPServer.build(settings: httpSettings, providers: [api], metrics: metrics, logger: logger)
                group.addTask { try await api.events.run() }
                group.addTask { try await app.runService() }
                let apiClient = try await AdminAPIClient.connect(http: http, baseURL: "https://127.0.0.1:\(port)")
                let environment = APITestEnvironment(
                    postgres: postgres, client: client, http: http, apiClient: apiClient, settings: settings, logger: logger, api: api,
                    enrollmentTokens: enrollmentTokens, crlFile: crlFile, recordingsDirectory: recordings.directory,
                    caFile: authority.certificateFile)
                defer { group.cancelAll() }
                try await body(environment)
            }
        } catch {
            try? await http.shutdown()
            await broker.stop()
            await postgres.stop()
            throw error
        }
        try await http.shutdown()
        await broker.stop()
        await postgres.stop()
    }

    /// Sends a request through ``AdminAPIClient/send(_:_:token:json:rawBody:contentType:headers:sourceLocation:)``.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil, rawBody: Data? = nil,
              contentType: String? = nil, headers extra: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> Reply
    {
        try await apiClient.send(method, path, token: token, json: json, rawBody: rawBody, contentType: contentType, headers: extra,
                                 sourceLocation: sourceLocation)
    }

    /// Opens a stream through ``AdminAPIClient/open(_:token:sourceLocation:)``.
    func open(_ path: String, token: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (reply: Reply, stream: HTTPClientResponse.Body)
    {
        try await apiClient.open(path, token: token, sourceLocation: sourceLocation)
    }

    // MARK: Seeding through the same code paths as the API and CLI

    func createUser(_ username: String, role: Role, password: String = "correct horse battery") async throws {
        _ = try await UsersStore(client: client, logger: logger, bcryptCost: 4)
            .create(username: username, password: password, role: role, origin: .cli(account: "test"),
                    audit: AuditLog(client: client, logger: logger))
    }

    func login(_ username: String, password: String = "correct horse battery") async throws -> (access: String, refresh: String) {
        let reply = try await send(.POST, "/api/v1/auth/login", json: ["username": .string(username), "password": .string(password)])
        guard reply.status == 200, let access = reply.json["accessToken"]?.stringValue, let refresh = reply.json["refreshToken"]?.stringValue
        else { throw HarnessError("login \(username) failed: \(reply.status) \(reply.text)") }
        return (access, refresh)
    }

    func createAPIKey(role: Role, expiresAt: Date = Date().addingTimeInterval(86_400)) async throws -> String {
        try await APIKeysStore(client: client, logger: logger)
            .create(name: "test \(role)", role: role, expiresAt: expiresAt, origin: .cli(account: "test"),
                    audit: AuditLog(client: client, logger: logger)).secret
    }

    @discardableResult
    func psql(_ sql: String) async throws -> String { try await postgres.psql(sql) }

    /// Waits until the event feed's LISTEN is in place. A subscriber counts as soon as it is
    /// registered, which can be before the feed's connection listens; a notification sent
    /// before then is relayed to no one.
    func waitForEventFeed() async throws {
        try await waitUntil(timeout: .seconds(30), "the event feed listening") {
            try await psql("SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"\(EventFeed.channel)\";'") != "0"
        }
    }
}
