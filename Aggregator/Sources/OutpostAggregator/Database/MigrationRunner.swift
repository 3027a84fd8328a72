import Foundation
import Logging
import PostgresNIO

/// Applies versioned SQL migrations (`NNNN_name.sql`, in version order) exactly once each.
///
/// The whole run holds a PostgreSQL advisory lock on one connection, so several
/// aggregators starting at once apply each migration once: the others wait, then find
/// nothing left to do. Each migration and its bookkeeping row commit in one transaction.
public struct MigrationRunner: Sendable {
    /// One migration file.
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// Lock key for `pg_advisory_lock`: "outpost-migrations" hashed by hand, stable forever.
    static let advisoryLockKey: Int64 = 0x6f75_7470_6f73_7401

    public let client: PostgresPool
    public let directory: String
    public let logger: Logger

    public init(client: PostgresPool, directory: String, logger: Logger) {
        self.client = client
        self.directory = directory
        self.logger = logger
    }

    /// Reads `directory`: every `NNNN_name.sql`, sorted by version. Duplicate versions are an error.
    public static func load(directory: String) throws(StoreError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(.migrationsUnreadable, "cannot list \(directory): \(error)")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let underscore = name.firstIndex(of: "_"), let version = Int(name[..<underscore]) else {
                throw StoreError(.migrationsUnreadable, "\(name) is not named NNNN_name.sql")
            }
            guard let sql = try? String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8) else {
                throw StoreError(.migrationsUnreadable, "cannot read \(name)")
            }
            migrations.append(Migration(version: version, name: String(name.dropLast(4)), sql: sql))
        }
        let versions = migrations.map(\.version)
        guard Set(versions).count == versions.count else { throw StoreError(.migrationsUnreadable, "duplicate migration versions") }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Applies every migration not yet recorded; returns the versions applied by this call.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let migrations = try Self.load(directory: directory)
        return try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
            do {
                let applied = try await apply(migrations, on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    private func apply(_ migrations: [Migration], on connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw StoreError(.migrationFailed, "migration \(migration.name): \(String(reflecting: error))")
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }
}
