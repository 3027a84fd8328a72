import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The admin API under `/api/v1`: identity, devices, audit, described by the OpenAPI
/// document it serves at `/api/v1/openapi.json`.
///
/// Every route comes from ``AccessPolicy/rules`` and runs behind the same middleware:
/// request id → security headers → one error shape → CORS (only when configured) →
/// body limit → authentication → per-principal rate limit → the route's role check.
public struct AdminAPI: RouteProvider {
    public static let prefix = "/api/v1"

    let settings: APISettings
    let logger: Logger
    let audit: AuditLog
    let deadLetters: RejectedMessagesStore
    let users: UsersStore
    let apiKeys: APIKeysStore
    let keyring: SigningKeyring
    let sessions: SessionService
    let devices: DevicesStore
    let readings: ReadingsStore
    let deviceEvents: DeviceEventsStore
    let commands: CommandsStore
    let certificates: CertificatesStore
    let enrollmentTokens: EnrollmentTokensStore
    /// Each device's broker and the operator's overrides (`/devices/{id}/broker`).
    let brokers: BrokerDirectory
    /// Token creation and certificate revocation; nil when the aggregator has no CA.
    let identity: IdentityOperations?
    /// The live-event relay behind `GET /events`; run it in the service group (see ``services``).
    public let events: EventFeed
    /// Live view through Janus; nil when `live.janus_url` is not set.
    let live: LiveView?
    /// Recordings and their files; nil unless `recordings.enabled`.
    let recordings: RecordingLibrary?
    let generalLimiter: RateLimiter
    let loginIPLimiter: RateLimiter
    let loginUserLimiter: RateLimiter
    /// Where refusals are counted: the registry `/metrics` exports.
    public let metrics: AggregatorMetrics

    public init(client: PostgresPool, settings: APISettings, identity: IdentityOperations? = nil, metrics: AggregatorMetrics,
                live: LiveView? = nil, recordings: RecordingSettings? = nil, brokers: BrokerDirectory? = nil,
                readReplica: ReadReplica? = nil, logger: Logger) {
        var logger = logger
        logger[metadataKey: "component"] = "admin-api"
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        audit = AuditLog(client: client, logger: logger)
        deadLetters = RejectedMessagesStore(client: client, metrics: nil, logger: logger)
        users = UsersStore(client: client, logger: logger, bcryptCost: UInt8(settings.bcryptCost))
        apiKeys = APIKeysStore(client: client, logger: logger)
        keyring = SigningKeyring(client: client, logger: logger)
        sessions = SessionService(
            client: client, keyring: keyring, users: users, logger: logger,
            accessTokenLifetime: .seconds(settings.accessTokenSeconds), refreshTokenLifetime: .seconds(settings.refreshTokenSeconds))
        devices = DevicesStore(client: client, logger: logger)
        readings = ReadingsStore(primary: client, replica: readReplica, logger: logger)
        deviceEvents = DeviceEventsStore(client: client, logger: logger)
        commands = CommandsStore(client: client, logger: logger)
        certificates = CertificatesStore(client: client, logger: logger)
        enrollmentTokens = EnrollmentTokensStore(client: client, logger: logger)
        self.brokers = brokers ?? BrokerDirectory(
            assignment: BrokerAssignment(brokers: [AggregatorConfiguration.defaultBrokerName]), addresses: [:], client: client, logger: logger)
        self.identity = identity
        self.live = live
        self.recordings = recordings.map {
            RecordingLibrary(settings: $0, store: RecordingsStore(client: client, logger: logger), metrics: metrics, logger: logger)
        }
        events = EventFeed(client: client, logger: logger)
        generalLimiter = RateLimiter(policy: .perWindow(settings.requestsPerMinute, seconds: 60))
        loginIPLimiter = RateLimiter(policy: .perWindow(settings.loginPerIpPerMinute, seconds: 60))
        loginUserLimiter = RateLimiter(policy: .perWindow(settings.loginPerUserPerMinute, seconds: 60))
    }

    /// A handler of one route; the role check has already passed.
    typealias Handler = @Sendable (inout Request, AppRequestContext) async throws -> Response

    public func addRoutes(to router: Router<AppRequestContext>) {
        let group = router.group(RouterPath(Self.prefix))
            .add(middleware: RequestIDMiddleware())
            .add(middleware: SecurityHeadersMiddleware())
            .add(middleware: ErrorResponseMiddleware(metrics: metrics))
        if !settings.corsAllowedOrigins.isEmpty {
            group.add(middleware: APICORSMiddleware(allowedOrigins: Set(settings.corsAllowedOrigins)))
        }
        group.add(middleware: BodyLimitMiddleware(limit: settings.maxBodyBytes))
            .add(middleware: AuthenticationMiddleware(keyring: keyring, apiKeys: apiKeys))
            .add(middleware: RateLimitMiddleware(limiter: generalLimiter))

        var handlers: [AccessPolicy.Rule: Handler] = [:]
        func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
            guard let rule = AccessPolicy.rule(method, path) else { preconditionFailure("\(method) \(path) is not in AccessPolicy.rules") }
            handlers[rule] = handler
        }
        addIdentityRoutes(on)
        addDeviceRoutes(on)
        addBrokerRoutes(on)
        addReadingsRoutes(on)
        addDeviceEventRoutes(on)
        addCommandRoutes(on)
        addEventRoutes(on)
        addStreamRoutes(on)
        addLiveRoutes(on)
        addRecordingRoutes(on)
        addIdentityRecordRoutes(on)
        addEnrollmentTokenRoutes(on)
        on(.get, "/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }

        for rule in AccessPolicy.rules {
            guard let handler = handlers[rule] else { preconditionFailure("no handler for \(rule)") }
            group.on(RouterPath(rule.routerPath), method: rule.method) { request, context in
                if let refusal = AccessPolicy.refusal(context.principal, rule) { throw refusal }
                var request = request
                return try await handler(&request, context)
            }
        }
        // Undeclared methods get 405 with Allow and unknown paths 404 from ``UnmatchedRouteMiddleware``.
        // With CORS on, OPTIONS is routed so the CORS middleware can answer preflights.
        if !settings.corsAllowedOrigins.isEmpty {
            for path in Set(AccessPolicy.rules.map(\.routerPath)) {
                group.on(RouterPath(path), method: .options) { _, _ -> Response in
                    throw APIError(.methodNotAllowed, .methodNotAllowed, "OPTIONS is only for CORS preflight")
                }
            }
        }
    }

    func origin(_ context: AppRequestContext) -> AuditLog.Origin {
        AuditLog.Origin(principal: context.principal, sourceIP: context.remoteAddress, requestID: context.requestID)
    }
}
