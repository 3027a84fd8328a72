import Foundation
import Logging
import OutpostAggregator
import OutpostSupport
import PostgresNIO
import Testing
import TestHarness

/// The aggregator's PostgreSQL connections over TLS, against a real server with `ssl = on`
/// and certificates from a throwaway CA.
@Suite("PostgreSQL TLS", .timeLimit(.minutes(3)))
struct PostgresTLSTests {
    let logger = Logger(label: "test.postgres-tls")

    @Test("verify-full with the right CA connects encrypted; a foreign CA and a wrong name are refused with their codes")
    func verification() async throws {
        // The certificate names db1.example only, so connecting to 127.0.0.1 needs server_name.
        try await withTLSServer(names: "DNS:db1.example") { server, ca, directory in
            let trusted = PostgresTLSSettings(mode: .verifyFull, caFile: ca.certificateFile, serverName: "db1.example")
            try await Database(settings: settings(server, trusted), logger: logger).probe()
            #expect(try await encrypted(settings(server, trusted)))

            let foreign = try await TestCertificateAuthority(directory: directory.file("foreign"), name: "Foreign CA")
            for mode in [PostgresTLSSettings.Mode.verifyFull, .verifyCA] {
                let untrusted = PostgresTLSSettings(mode: mode, caFile: foreign.certificateFile, serverName: "db1.example")
                await #expect(throws: StoreError(.tlsUntrusted, "")) {
                    try await Database(settings: settings(server, untrusted), logger: logger).probe()
                }
            }
            for serverName in [nil, "db2.example"] {
                let misnamed = PostgresTLSSettings(mode: .verifyFull, caFile: ca.certificateFile, serverName: serverName)
                await #expect(throws: StoreError(.tlsHostnameMismatch, "")) {
                    try await Database(settings: settings(server, misnamed), logger: logger).probe()
                }
            }
            // verify-ca checks the chain only; require checks nothing but still encrypts.
            try await Database(settings: settings(server, PostgresTLSSettings(mode: .verifyCA, caFile: ca.certificateFile)),
                               logger: logger).probe()
            #expect(try await encrypted(settings(server, PostgresTLSSettings(mode: .require))))
            #expect(try await encrypted(settings(server, PostgresTLSSettings(mode: .disable))) == false)
        }
    }

    @Test("a client certificate logs in a certificate-only role; without one the server refuses it")
    func clientCertificate() async throws {
        try await withTLSServer(certificateUsers: ["outpost_cert"]) { server, ca, directory in
            try await server.psql("CREATE ROLE outpost_cert LOGIN")
            let client = try await ca.issueClient("outpost_cert")
            var withCertificate = settings(server, PostgresTLSSettings(
                mode: .verifyFull, caFile: ca.certificateFile, certFile: client.certificateFile, keyFile: client.keyFile))
            withCertificate.username = "outpost_cert"
            let database = try Database(settings: withCertificate, logger: logger)
            try await database.probe()
            let user = try await withPool(database) { client in
                var names: [String] = []
                for try await name in try await client.query("SELECT current_user::text").decode(String.self) { names.append(name) }
                return names
            }
            #expect(user == ["outpost_cert"])

            var withoutCertificate = withCertificate
            withoutCertificate.tls.certFile = nil
            withoutCertificate.tls.keyFile = nil
            do {
                try await Database(settings: withoutCertificate, logger: logger).probe()
                Issue.record("a certificate-only role logged in without a certificate")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "28000")
            }
        }
    }

    @Test("require against a server without TLS: postgres_tls_unsupported, and the schema service stops with it")
    func serverWithoutTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer(directory: directory.path)
        do {
            let database = try Database(settings: settings(server, PostgresTLSSettings(mode: .require)), logger: logger)
            await #expect(throws: StoreError(.tlsUnsupported, "")) { try await database.probe() }
            let schema = SchemaService(database: database, migrationsDirectory: directory.file("none"), settings: ReadingsSettings(),
                                       readiness: SchemaReadiness(), logger: logger)
            await #expect(throws: StoreError(.tlsUnsupported, "")) { try await schema.run() }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("unusable TLS files stop the start with their codes: a missing CA, a key others can read")
    func unusableFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ca = try await TestCertificateAuthority(directory: directory.path)
        let client = try await ca.issueClient("outpost")
        #expect(throws: StoreError(.tlsFileUnreadable, "")) {
            try Database(settings: PostgresSettings(tls: PostgresTLSSettings(mode: .verifyFull, caFile: directory.file("absent.pem"))),
                         logger: logger)
        }
        chmod(client.keyFile, 0o644)
        #expect(throws: StoreError(.tlsKeyPermissions, "")) {
            try Database(settings: PostgresSettings(tls: PostgresTLSSettings(
                mode: .verifyFull, caFile: ca.certificateFile, certFile: client.certificateFile, keyFile: client.keyFile)), logger: logger)
        }
        chmod(client.keyFile, 0o640)
        _ = try Database(settings: PostgresSettings(tls: PostgresTLSSettings(
            mode: .verifyFull, caFile: ca.certificateFile, certFile: client.certificateFile, keyFile: client.keyFile)), logger: logger)
    }

    @Test("postgres.tls settings: defaults, and each inconsistent combination names its key")
    func configuration() throws {
        func load(_ tls: JSONValue) throws -> PostgresSettings {
            let tree: JSONValue = [
                "instance_id": "a1",
                "mqtt": ["ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"],
                "http": ["cert_file": "/h.pem", "key_file": "/h.key"],
                "postgres": ["host": "db1.example", "tls": tls],
            ]
            return try ConfigLoader(environment: [:]).decode(AggregatorConfiguration.self, from: tree).postgres
        }
        #expect(try load([:]).tls == PostgresTLSSettings())
        #expect(try load(["mode": "verify-full", "ca_file": "/ca.pem", "server_name": "db.example"]).tls
            == PostgresTLSSettings(mode: .verifyFull, caFile: "/ca.pem", serverName: "db.example"))
        #expect(throws: ConfigError(.invalidValue, key: "postgres.tls.mode", "")) { try load(["mode": "verify"]) }
        #expect(throws: ConfigError(.invalidValue, key: "postgres.tls.ca_file", "")) { try load(["mode": "verify-full"]) }
        #expect(throws: ConfigError(.invalidValue, key: "postgres.tls.key_file", "")) {
            try load(["mode": "require", "cert_file": "/c.pem"])
        }
        #expect(throws: ConfigError(.invalidValue, key: "postgres.tls.mode", "")) { try load(["ca_file": "/ca.pem"]) }
        #expect(throws: ConfigError(.unknownKey, key: "postgres.tls.sslmode", "")) { try load(["sslmode": "require"]) }
    }

    private func settings(_ server: PostgresServer, _ tls: PostgresTLSSettings) -> PostgresSettings {
        PostgresSettings(port: server.port, username: server.user, database: server.database, maxConnections: 2, tls: tls)
    }

    /// Whether the pool's connection for `settings` is encrypted, as the server sees it.
    private func encrypted(_ settings: PostgresSettings) async throws -> Bool {
        let rows = try await withPool(try Database(settings: settings, logger: logger)) { client in
            var rows: [Bool] = []
            for try await ssl in try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").decode(Bool.self) {
                rows.append(ssl)
            }
            return rows
        }
        return rows == [true]
    }

    private func withPool<T: Sendable>(_ database: Database, _ body: @Sendable (PostgresPool) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database.client)
        }
    }

    private func withTLSServer(
        names: String = "IP:127.0.0.1,DNS:localhost", certificateUsers: [String] = [],
        _ body: (PostgresServer, TestCertificateAuthority, TemporaryDirectory) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.file("ca"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("foreign"), withIntermediateDirectories: true)
        let ca = try await TestCertificateAuthority(directory: directory.file("ca"))
        let certificate = try await ca.issueServer(names: names)
        let server = try await PostgresServer(directory: directory.path, tls: PostgresServer.TLS(
            certificateFile: certificate.certificateFile, keyFile: certificate.keyFile, clientCAFile: ca.certificateFile,
            certificateUsers: certificateUsers))
        do {
            try await body(server, ca, directory)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
