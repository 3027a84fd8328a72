import Foundation
import Logging
@testable import OutpostAggregator
import Testing

/// A dead recorder's relay (and its stream's SRTP key) is deleted once its claim lapsed, in real PostgreSQL.
@Suite("Media relays of dead recorders swept (real PostgreSQL)", .serialized, .timeLimit(.minutes(2)))
struct MediaRelaySweepTests {
    @Test("kept while the owner's claim is renewed within 5 minutes; swept when it is older, gone, or another aggregator's")
    func sweepsLapsedRelays() async throws {
        try await APITestEnvironment.with { env in
            let relays = MediaRelaysStore(client: env.client, logger: Logger(label: "test.relays"))
            _ = try await env.psql("""
                INSERT INTO devices (id, kind) VALUES ('cam-live', 'camera'), ('cam-late', 'camera'), ('cam-dead', 'camera'),
                    ('cam-gone', 'camera'), ('cam-moved', 'camera');
                INSERT INTO recording_claims (device, owner, heartbeat_at) VALUES
                    ('cam-live', 'a1', now()), ('cam-late', 'a1', now() - interval '4 minutes'),
                    ('cam-dead', 'a1', now() - interval '6 minutes'), ('cam-moved', 'a2', now())
                """)
            for device in ["cam-live", "cam-late", "cam-dead", "cam-gone", "cam-moved"] {
                try await relays.publish(device: device, owner: "a1", srtpKey: "key-\(device)", offer: "v=0")
            }
            #expect(try await relays.sweepLapsed() == 3)
            #expect(try await env.psql("SELECT string_agg(device, ',' ORDER BY device) FROM media_relays") == "cam-late,cam-live")
            #expect(try await relays.sweepLapsed() == 0)
            // The hourly maintenance sweeps too (every aggregator, recording on or not).
            _ = try await env.psql("UPDATE recording_claims SET heartbeat_at = now() - interval '1 hour' WHERE device = 'cam-late'")
            let database = try Database(settings: PostgresSettings(port: env.postgres.port, username: env.postgres.user,
                                                                   database: env.postgres.database),
                                        logger: Logger(label: "test.schema"))
            let running = Task { await database.run() }
            defer { running.cancel() }
            let schema = SchemaService(database: database, migrationsDirectory: APITestEnvironment.migrationsDirectory,
                                       settings: ReadingsSettings(), readiness: SchemaReadiness(), logger: Logger(label: "test.schema"))
            try await schema.maintain()
            #expect(try await env.psql("SELECT string_agg(device, ',' ORDER BY device) FROM media_relays") == "cam-live")
        }
    }
}
