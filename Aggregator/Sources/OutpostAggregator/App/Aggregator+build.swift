import Foundation
import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
import ServiceLifecycle

/// Everything `outpost-aggregator serve` runs, wired from one configuration.
///
/// `main` and the tests both call ``buildAggregator(configuration:logger:routeProviders:metrics:)``,
/// so the tests run the real wiring.
public struct Aggregator: Sendable {
    public let configuration: AggregatorConfiguration
    public let database: Database
    /// The client of the first configured broker (the only one without a `brokers` list).
    public let broker: MQTTClient
    /// One client per configured broker, and where each device is published to.
    public let brokers: BrokerSet
    public let metrics: AggregatorMetrics
    public let commands: CommandsStore
    public let readiness: SchemaReadiness
    /// In start order; the service group shuts them down in reverse, so the HTTPS server
    /// stops first, ingest drains while the broker and database are still up, and the
    /// database pool goes last.
    public let services: [any Service]
    let logger: Logger

    /// The service group, with SIGTERM and SIGINT as graceful shutdown signals when `signals` is set.
    public func serviceGroup(signals: Bool = true, gracefulShutdownTimeout: Duration = .seconds(30)) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = gracefulShutdownTimeout
        return ServiceGroup(configuration: configuration)
    }
}

/// Builds the aggregator: PostgreSQL pool, schema and partition maintenance, the broker
/// connection, ingest, presence, command dispatch, and the HTTPS server with
/// `/health`, `/metrics` and the routes of every provider.
///
/// - Parameters:
///   - routeProviders: routes beyond health and metrics (enrollment, the admin API).
///   - metrics: the registry to export; a fresh one by default.
public func buildAggregator(
    configuration: AggregatorConfiguration, logger: Logger, routeProviders: [any RouteProvider] = [],
    metrics: AggregatorMetrics = AggregatorMetrics()
) throws -> Aggregator {
    func component(_ name: String) -> Logger {
        var component = Logger(label: "\(logger.label).\(name)")
        component[metadataKey: "instance"] = "\(configuration.instanceID)"
        return component
    }
    try MediaTools.check(configuration.recordings)
    let readiness = SchemaReadiness()
    let database = try Database(settings: configuration.postgres, ingest: configuration.ingest, logger: component("postgres"))

    let brokers = try BrokerSet(configuration: configuration, logger: component("mqtt")) { mqtt in
        mqtt.receiveMaximum = 1_000
        mqtt.incomingBufferLimit = 256
    }
    let broker = brokers.members[0].client

    let codec = WireCodec()
    let pipeline = IngestPipeline(
        settings: configuration.ingest, store: ReadingsStore(primary: database.ingest, logger: component("ingest"), metrics: metrics,
                                                         deadline: .milliseconds(configuration.ingest.writeDeadlineMs)),
        acks: MQTTAckPublisher(brokers: brokers, codec: codec), metrics: metrics, logger: component("ingest"))
    let presence = PresenceRecorder(maxPendingDevices: configuration.devices.maxPendingDevices)
    let commandInbox = BoundedQueue<CommandInbox>(limit: 1_000)
    let commands = CommandsStore(client: database.client, logger: component("commands"))
    let router = MessageRouter(
        codec: codec, pipeline: pipeline, presence: presence, commands: commandInbox, metrics: metrics, brokers: brokers,
        logger: component("ingest"))

    // The config endpoint needs the fleet CA; an aggregator whose state directory has none
    // (`ca init` not run there) serves ingest and the API only, and says so.
    var enrollment: [any RouteProvider] = []
    var identityOperations: IdentityOperations?
    var crlRefresh: [any Service] = []
    if FileManager.default.fileExists(atPath: (configuration.caDirectory as NSString).appendingPathComponent("ca.pem")) {
        let authority = try CertificateAuthority.load(directory: configuration.caDirectory)
        let certificates = CertificatesStore(client: database.client, logger: component("identity"))
        let enrollmentTokens = EnrollmentTokensStore(client: database.client, logger: component("identity"))
        let service = EnrollmentService(
            configuration: configuration, authority: authority,
            certificates: certificates, enrollmentTokens: enrollmentTokens, logger: component("identity"))
        enrollment = [EnrollmentRoutes(service: service, metrics: metrics,
                                       requestsPerMinute: configuration.identity.configRequestsPerMinute, logger: component("identity"))]
        identityOperations = IdentityOperations(configuration: configuration, authority: authority,
                                                certificates: certificates, enrollmentTokens: enrollmentTokens)
        crlRefresh = [CRLRefreshService(
            revocation: Revocation(configuration: configuration, authority: authority,
                                   store: certificates, logger: component("identity")),
            interval: .seconds(configuration.identity.crlCheckIntervalSeconds), readiness: readiness, logger: component("identity"))]
    } else {
        logger.warning("no CA in the state directory: the config endpoint (enroll, renew) is off",
                       metadata: ["ca_directory": "\(configuration.caDirectory)"])
    }
    let ingress = configuration.recordings.enabled ? RecordingIngress() : nil
    let live = try LiveView.make(settings: configuration.live, client: database.client, metrics: metrics, ingress: ingress,
                                 logger: component("live"))
    let expiry = ExpiryWatch.of(configuration)
    // The file systems `/health` and `outpost_disk_free_*` watch: state, and recordings when on.
    let disks = configuration.recordings.enabled
        ? ["state": configuration.stateDir, "recordings": configuration.recordings.directory] : ["state": configuration.stateDir]
    let readReplica = try configuration.postgres.readReplica.map { settings throws(StoreError) in
        try ReadReplica(settings: settings, primarySettings: configuration.postgres, primary: database.client, metrics: metrics,
                        logger: component("postgres.replica"))
    }
    let adminAPI = AdminAPI(client: database.client, settings: configuration.api, identity: identityOperations, metrics: metrics, live: live,
                            recordings: configuration.recordings.enabled ? configuration.recordings : nil,
                            brokers: BrokerDirectory(configuration: configuration, client: database.client, logger: component("api")),
                            readReplica: readReplica,
                            logger: component("api"))
    let routes: [any RouteProvider] =
        [HealthRoutes(database: database, brokers: brokers, metrics: metrics, metricsToken: try configuration.http.metricsToken(),
                      expiry: expiry, disks: disks)] + enrollment + [adminAPI] + routeProviders
        + [ConsoleRoutes(consoleDirectory: ConsoleRoutes.directory(configured: configuration.http.consoleDir),
                         javascriptDirectory: configuration.http.javascriptDir, metrics: metrics)]
    let events = adminAPI.events
    metrics.addProbe {
        metrics.eventSubscribers(await events.subscriberCount)
        for member in brokers.members { metrics.brokerConnected(member.name, member.client.isConnected) }
        let read = expiry.read()
        metrics.expiries(certificates: read.certificates, crlNextUpdate: read.crlNextUpdate)
        for (name, path) in disks {
            if let space = DiskSpace.of(path) { metrics.disk(name, space) }
        }
    }
    let http = try HTTPServer.build(settings: configuration.http, providers: routes, metrics: metrics, logger: component("http"))

    // Recording at the centre and its retention (docs/recordings.md), when `recordings.enabled`.
    let recordingServices: [any Service] = ingress.map { ingress in [
        RecorderService(settings: configuration.recordings, owner: configuration.instanceID, client: database.client, ingress: ingress,
                        metrics: metrics, readiness: readiness, logger: component("recordings")),
        RetentionService(settings: configuration.recordings, client: database.client, metrics: metrics, readiness: readiness,
                         logger: component("recordings")),
    ] } ?? []
    let connections: [any Service] = brokers.members.map { member in
        var logger = component("mqtt")
        logger[metadataKey: "broker"] = "\(member.name)"
        return BrokerConnection(client: member.client, readiness: readiness, shareGroup: configuration.ingest.shareGroup, logger: logger)
    }
    let services: [any Service] = [
        database,
        SchemaService(database: database, migrationsDirectory: configuration.migrationsDir, settings: configuration.readings,
                      readiness: readiness, logger: component("schema")),
    ] + connections + [
        PresenceService(recorder: presence, store: DevicesStore(client: database.client, logger: component("presence")),
                        settings: configuration.devices, readiness: readiness, metrics: metrics, logger: component("presence")),
        CommandService(store: commands, brokers: brokers, inbox: commandInbox, settings: configuration.commands,
                       readiness: readiness, metrics: metrics, logger: component("commands")),
        IngestService(brokers: brokers, router: router, pipeline: pipeline, readiness: readiness, logger: component("ingest")),
        adminAPI.events,
    ] + (readReplica.map { [$0] } ?? []) + crlRefresh + (live.map { [LiveViewService(live: $0, readiness: readiness)] } ?? []) + recordingServices + [
        http,
        SystemdWatchdogService(isHealthy: { await database.isReachable() }),
    ]
    return Aggregator(configuration: configuration, database: database, broker: broker, brokers: brokers, metrics: metrics, commands: commands,
                      readiness: readiness, services: services, logger: logger)
}
