import Foundation
import Logging
import PostgresNIO

/// The `media_relays` table: how one camera stream feeds its recorder and a live view on any
/// aggregator (docs/recordings.md, "One stream").
///
/// The recorder publishes its relay (the stream's key and the agent's offer) while it runs; a
/// live view on any aggregator joins by making a mountpoint with that key and recording it as a
/// live session with `start_command` `recording`; the relay, wherever it runs, forwards to the
/// mountpoints those rows name (``LiveSessionsStore/relayFedAddresses(device:defaultHost:)``).
struct MediaRelaysStore: Sendable {
    /// A published relay: whose it is, the stream's SRTP key and the agent's SDP offer.
    struct Relay: Sendable, Equatable {
        let owner: String
        let srtpKey: String
        let offer: String
    }

    /// A published relay counts only while its owner's recording claim was renewed this recently.
    static let freshSeconds = 60

    /// A relay whose owner's claim is gone or was last renewed longer ago than this belongs to
    /// a recorder that died without withdrawing it (SIGKILL, a lost host): ``sweepLapsed()``
    /// deletes it, and its SRTP key with it. Well past ``freshSeconds`` and the claim's takeover
    /// (at least 15 s), so a recorder that is merely late is never swept.
    static let lapsedSeconds = 300

    let client: PostgresPool
    let logger: Logger

    /// Deletes every relay whose owner no longer holds a claim renewed within ``lapsedSeconds``;
    /// returns how many.
    @discardableResult
    func sweepLapsed() async throws -> Int {
        var swept = 0
        for try await count in try await client.query(
            """
            WITH gone AS (
                DELETE FROM media_relays r WHERE NOT EXISTS (
                    SELECT 1 FROM recording_claims c
                    WHERE c.device = r.device AND c.owner = r.owner
                      AND c.heartbeat_at > now() - make_interval(secs => \(Self.lapsedSeconds)))
                RETURNING 1)
            SELECT count(*) FROM gone
            """, logger: logger).decode(Int64.self)
        {
            swept = Int(count)
        }
        return swept
    }

    func publish(device: String, owner: String, srtpKey: String, offer: String) async throws {
        try await client.query(
            """
            INSERT INTO media_relays (device, owner, srtp_key, offer) VALUES (\(device), \(owner), \(srtpKey), \(offer))
            ON CONFLICT (device) DO UPDATE SET owner = EXCLUDED.owner, srtp_key = EXCLUDED.srtp_key, offer = EXCLUDED.offer,
                started_at = now()
            """, logger: logger)
    }

    func withdraw(device: String, owner: String) async throws {
        try await client.query("DELETE FROM media_relays WHERE device = \(device) AND owner = \(owner)", logger: logger)
    }

    /// The camera's relay when its owner still holds a fresh recording claim.
    func relay(device: String) async throws -> Relay? {
        for try await row in try await client.query(
            """
            SELECT r.owner, r.srtp_key, r.offer FROM media_relays r
            JOIN recording_claims c ON c.device = r.device AND c.owner = r.owner
            WHERE r.device = \(device) AND c.heartbeat_at > now() - make_interval(secs => \(Self.freshSeconds))
            """, logger: logger).decode((String, String, String).self)
        {
            return Relay(owner: row.0, srtpKey: row.1, offer: row.2)
        }
        return nil
    }
}
