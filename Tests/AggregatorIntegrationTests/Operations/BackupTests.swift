import Foundation
import Logging
import OutpostAggregator
import OutpostMQTT
import OutpostSupport
import Testing
import TestHarness

/// `backup` and `restore` against real PostgreSQL clusters, `pg_dump`, `tar` and `openssl`:
/// the archive is private and encrypted, and restoring it onto a fresh cluster and an empty
/// state directory gives back the same CA key, certificates, revocations, API keys and rows.
@Suite("Backup and restore", .serialized, .timeLimit(.minutes(4)))
struct BackupTests {
    @Test("backup (encrypted, 0600) then restore onto a fresh cluster and host: same CA, keys, config and rows; wrong passphrase refused")
    func roundTrip() async throws {
        let fixture = try await IdentityFixture()
        let target = try TemporaryDirectory(prefix: "outpost-restore")
        let fresh = try await PostgresServer(directory: target.path)
        do {
            try await Self.roundTrip(fixture: fixture, target: target, fresh: fresh)
        } catch {
            await fresh.stop()
            await fixture.stop()
            throw error
        }
        await fresh.stop()
        await fixture.stop()
        target.remove()
    }

    static func roundTrip(fixture: IdentityFixture, target: TemporaryDirectory, fresh: PostgresServer) async throws {
        // A fleet's state: a device with a certificate that is revoked, an API key, audit rows.
        _ = try await fixture.makeToken(device: "meter-keep")
        try await fixture.postgres.psql("""
            INSERT INTO devices (id) VALUES ('meter-gone') ON CONFLICT DO NOTHING;
            UPDATE devices SET revoked_at = now() WHERE id = 'meter-gone';
            INSERT INTO audit_log (actor, action, target) VALUES ('cli:root', 'device.revoke', 'device:meter-gone')
            """)
        // A running stream's SRTP key, in a recorder's relay and a live session: never in a backup.
        let srtpKey = "c3J0cC1rZXktbmV2ZXItaW4tYS1iYWNrdXAtMDEyMzQ1"
        try await fixture.postgres.psql("""
            INSERT INTO devices (id, kind) VALUES ('cam-live', 'camera');
            INSERT INTO media_relays (device, owner, srtp_key, offer) VALUES ('cam-live', 'a1', '\(srtpKey)', 'v=0');
            INSERT INTO live_sessions (device, mountpoint, rtp_port, rtcp_port, start_command, started_by, srtp_key, media_host)
            VALUES ('cam-live', 7, 20000, 20001, 'cmd-1', 'admin', '\(srtpKey)', '127.0.0.1')
            """)
        let fingerprint = fixture.authority.fingerprint
        let configPath = fixture.directory.file("aggregator.json")
        try Self.writeConfig(fixture.configuration, to: configPath)
        let passphrase = "correct horse battery staple"
        let archive = fixture.directory.file("backups/outpost.backup")

        let contents = try BackupArchive.backup(configuration: fixture.configuration, configPath: configPath, output: archive,
                                                passphrase: passphrase)
        #expect(contents.contains("ca") && contents.contains("database.dump") && contents.contains("files/https.key"), "\(contents)")
        var status = stat()
        #expect(stat(archive, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(BackupArchive.isEncrypted(archive))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        #expect(bytes.count > 1_000)
        #expect(String(decoding: bytes, as: UTF8.self).range(of: "PRIVATE KEY") == nil)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.file("backups"))
        #expect(leftovers == ["outpost.backup"], "no scratch files left: \(leftovers)")

        // The fresh host: its own cluster and an empty state directory; the configuration says where.
        var moved = fixture.configuration
        moved.stateDir = target.file("state")
        moved.postgres = PostgresSettings(port: fresh.port, username: fresh.user, database: fresh.database)
        moved.http.certFile = target.file("tls/https.pem")
        moved.http.keyFile = target.file("tls/https.key")
        moved.http.clientCaFile = target.file("state/ca/ca.pem")
        moved.identity.brokerDir = target.file("broker")
        moved.mqtt = BrokerSettings(caFile: target.file("state/ca/ca.pem"), certFile: "", keyFile: "")
        let movedConfig = target.file("etc/aggregator.json")
        try FileManager.default.createDirectory(atPath: target.file("etc"), withIntermediateDirectories: true)
        try Self.writeConfig(moved, to: movedConfig)

        #expect(throws: BackupError(.decryptionFailed, "")) {
            try BackupArchive.restore(archive: archive, configPath: movedConfig, passphrase: "wrong", overwrite: false)
        }
        #expect(throws: BackupError(.passphraseRequired, "")) {
            try BackupArchive.restore(archive: archive, configPath: movedConfig, passphrase: nil, overwrite: false)
        }
        let restored = try BackupArchive.restore(archive: archive, configPath: movedConfig, passphrase: passphrase, overwrite: false)
        #expect(restored.contains("ca") && restored.contains("database.dump"), "\(restored)")

        // The same CA: key and certificate byte for byte, so every device certificate stays valid.
        for file in ["ca.pem", "ca.key"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.directory.file("state/ca/\(file)")))
                    == Data(contentsOf: URL(fileURLWithPath: target.file("state/ca/\(file)"))), "\(file)")
        }
        #expect(stat(target.file("state/ca/ca.key"), &status) == 0 && status.st_mode & 0o077 == 0, "the CA key stays owner-only")
        let authority = try CertificateAuthority.load(directory: target.file("state/ca"))
        #expect(authority.fingerprint == fingerprint)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.configuration.http.keyFile))
                == Data(contentsOf: URL(fileURLWithPath: target.file("tls/https.key"))))
        // The same rows: devices, the revocation, tokens, migrations, audit log.
        for query in ["SELECT string_agg(id || ':' || (revoked_at IS NOT NULL)::text, ',' ORDER BY id) FROM devices",
                      "SELECT count(*) FROM enrollment_tokens", "SELECT count(*) FROM schema_migrations",
                      "SELECT string_agg(action || '@' || target, ',' ORDER BY id) FROM audit_log"] {
            #expect(try await fresh.psql(query) == fixture.postgres.psql(query), "\(query)")
        }
        #expect(try await fresh.psql("SELECT revoked_at IS NOT NULL FROM devices WHERE id = 'meter-gone'") == "t")
        // The key tables came back empty (their definitions restored), the source's rows untouched.
        #expect(try await fresh.psql("SELECT (SELECT count(*) FROM media_relays) || ',' || (SELECT count(*) FROM live_sessions)") == "0,0")
        #expect(try await fixture.postgres.psql("SELECT count(*) FROM media_relays WHERE srtp_key = '\(srtpKey)'") == "1")

        // A second restore over it is refused unless asked to overwrite.
        #expect(throws: BackupError(.wouldOverwrite, "")) {
            try BackupArchive.restore(archive: archive, configPath: movedConfig, passphrase: passphrase, overwrite: false)
        }
    }

    @Test("restore drill: a running fleet, cold backup, database and CA destroyed, restored onto a fresh cluster; agents reconnect with their certificates, every reading stored exactly once, the revoked device stays revoked, the API key works")
    func drill() async throws {
        try await FleetFixture.with { fleet in
            let admin = try await fleet.apiKey(.admin)
            let agentA = try await fleet.startAgent("meter-a")
            _ = try await fleet.startAgent("meter-b")
            _ = try await fleet.broker.enroll("meter-x")
            let decommission = try await fleet.api.send(.POST, "/api/v1/devices/meter-x/decommission", token: admin)
            #expect(decommission.status == 200, "\(decommission.text)")
            let old = fleet.broker.identity.postgres
            try await waitUntil(timeout: .seconds(60), "readings of both agents stored") {
                try await old.psql("SELECT count(DISTINCT device) FROM readings WHERE device IN ('meter-a', 'meter-b')") == "2"
            }
            // Cold backup: the aggregator stops (agents keep capturing and buffering), then backup.
            await fleet.stopAggregator()
            let storedBefore = Int(try await old.psql("SELECT count(*) FROM readings")) ?? 0
            let configPath = fleet.broker.identity.directory.file("aggregator.json")
            try Self.writeConfig(fleet.configuration, to: configPath)
            let archive = fleet.broker.identity.directory.file("outpost.backup")
            _ = try BackupArchive.backup(configuration: fleet.configuration, configPath: configPath, output: archive, passphrase: nil)

            // Disaster: the database cluster and the CA directory are gone.
            await old.stop()
            try FileManager.default.removeItem(atPath: fleet.configuration.caDirectory)
            let target = try TemporaryDirectory(prefix: "outpost-drill")
            let fresh = try await PostgresServer(directory: target.path)
            var restarted: [ServerProcess] = []
            do {
                var configuration = fleet.configuration
                configuration.postgres = PostgresSettings(port: fresh.port, username: fresh.user, database: fresh.database)
                try Self.writeConfig(configuration, to: configPath)
                let restored = try BackupArchive.restore(archive: archive, configPath: configPath, passphrase: nil, overwrite: true)
                #expect(restored.contains("ca") && restored.contains("database.dump"))
                #expect(try await fresh.psql("SELECT count(*) FROM readings") == "\(storedBefore)")

                // Restored rows keep their received_at: new readings are those received after this.
                let restartedAt = try await fresh.psql("SELECT now()")
                let loaded = try ConfigLoader(environment: [:]).load(AggregatorConfiguration.self, path: configPath)
                var logger = Logger(label: "aggregator.restored")
                logger.logLevel = .notice
                let aggregator = try buildAggregator(configuration: loaded, logger: logger)
                let group = aggregator.serviceGroup(signals: false)
                let running = Task { try await group.run() }
                do {
                    try await waitUntil(timeout: .seconds(60), "restored aggregator ready") {
                        aggregator.readiness.isReady && aggregator.broker.isConnected
                    }
                    // meter-a dies (kill -9) and starts again from its own files: the certificate and
                    // buffer it had, against the restored CA; meter-b just kept running.
                    await agentA.crash()
                    let directory = fleet.broker.identity.directory
                    let again = try ServerProcess(name: "outpost-agent meter-a (again)", executable: try FleetFixture.agentBinary(),
                                                  arguments: ["run", "--config", directory.file("device-meter-a/run.json")],
                                                  logPath: directory.file("device-meter-a/agent-again.log"))
                    restarted.append(again)
                    try await waitUntil(timeout: .seconds(90), "readings after the restore from both agents") {
                        try await fresh.psql("""
                            SELECT count(DISTINCT device) FROM readings WHERE device IN ('meter-a', 'meter-b')
                              AND received_at > '\(restartedAt)'::timestamptz
                            """) == "2"
                    }
                    // Exactly once: per buffer, seq 1...max all there (no gap, so nothing lost), each once (the key).
                    try await waitUntil(timeout: .seconds(60), "no gaps in any buffer's seq") {
                        try await fresh.psql("""
                            SELECT count(*) FROM (SELECT device, buffer FROM readings WHERE device IN ('meter-a', 'meter-b')
                              GROUP BY device, buffer HAVING count(*) <> max(seq) OR count(*) <> count(DISTINCT seq)) gaps
                            """) == "0"
                    }
                    #expect(Int(try await fresh.psql("SELECT count(*) FROM readings")) ?? 0 > storedBefore)
                    #expect(try await fresh.psql("SELECT revoked_at IS NOT NULL FROM devices WHERE id = 'meter-x'") == "t")
                    let devices = try await fleet.api.send(.GET, "/api/v1/devices?limit=10", token: admin)
                    #expect(devices.status == 200, "the API key from before the backup works: \(devices.text)")
                    #expect(devices.text.contains("meter-a") && devices.text.contains("meter-b"))
                } catch {
                    print("--- meter-a (again) log ---\n\(restarted.first?.log.suffix(3_000) ?? "")")
                    for agent in restarted { await agent.crash() }
                    await group.triggerGracefulShutdown()
                    _ = await running.result
                    throw error
                }
                for agent in restarted { await agent.crash() }
                await group.triggerGracefulShutdown()
                _ = await running.result
            } catch {
                await fresh.stop()
                throw error
            }
            await fresh.stop()
            target.remove()
        }
    }

    static func writeConfig(_ configuration: AggregatorConfiguration, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(configuration).write(to: URL(fileURLWithPath: path))
    }
}
