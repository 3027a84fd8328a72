import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The aggregator's PostgreSQL connection pool, run as a service.
///
/// Everything that talks to PostgreSQL borrows from ``client``; the pool reconnects by
/// itself when the server restarts. The aggregator keeps no state of its own beyond it.
/// Ingest batch writes use ``ingest``, a pool of their own with bounded lock waits.
public struct Database: Service {
    public let client: PostgresPool
    /// The ingest writers' sessions (`ingest.writers` of them), with `lock_timeout` and
    /// `client_connection_check_interval` (``PostgresSettings/ingestClientConfiguration(lockTimeoutMs:connections:)``).
    public let ingest: PostgresPool
    public let logger: Logger
    let settings: PostgresSettings

    /// - Throws: ``StoreError`` when a `postgres.tls` file cannot be used.
    public init(settings: PostgresSettings, ingest: IngestSettings = IngestSettings(), logger: Logger) throws(StoreError) {
        self.client = PostgresPool(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        self.ingest = PostgresPool(
            configuration: try settings.ingestClientConfiguration(lockTimeoutMs: ingest.lockTimeoutMs, connections: ingest.writers),
            backgroundLogger: logger)
        self.settings = settings
        self.logger = logger
    }

    /// Opens and closes one connection outside the pool, to tell a configuration that can
    /// never connect from a server that is not up yet: the pool retries both alike, forever.
    ///
    /// - Throws: ``StoreError`` with a TLS code (``StoreError/Code/tlsUntrusted``,
    ///   ``StoreError/Code/tlsHostnameMismatch``, ``StoreError/Code/tlsUnsupported``,
    ///   ``StoreError/Code/tlsHandshakeFailed``) when TLS fails; any other failure unchanged.
    public func probe() async throws {
        let configuration = try settings.connectionConfiguration()
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw Self.tlsFailure(error, settings: settings) ?? error
        }
        try? await connection.close()
    }

    /// The TLS failure `error` stands for, if it is one.
    static func tlsFailure(_ error: any Error, settings: PostgresSettings) -> StoreError? {
        let server = "\(settings.host):\(settings.port)"
        switch error {
        case let error as PSQLError:
            if error.code == .sslUnsupported {
                return StoreError(.tlsUnsupported, "\(server) does not offer TLS (postgres.tls.mode is \(settings.tls.mode.rawValue))")
            }
            return error.underlying.flatMap { tlsFailure($0, settings: settings) }
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            let name = settings.tls.serverName ?? settings.host
            return StoreError(.tlsHostnameMismatch, "the certificate of \(server) does not name \(name): \(error)")
        case let error as NIOSSLError:
            if case .handshakeFailed(let reason) = error, "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") {
                return StoreError(.tlsUntrusted, "the certificate of \(server) does not chain to postgres.tls.ca_file: \(reason)")
            }
            return StoreError(.tlsHandshakeFailed, "TLS with \(server) failed: \(error)")
        default:
            return nil
        }
    }

    /// Runs the pools until the task is cancelled or the service group shuts down.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                group.addTask { await ingest.run() }
            }
        }
    }

    /// True when a trivial query answers; for `/health`.
    public func isReachable() async -> Bool {
        do {
            for try await _ in try await client.query("SELECT 1", logger: logger) {}
            return true
        } catch {
            return false
        }
    }
}
