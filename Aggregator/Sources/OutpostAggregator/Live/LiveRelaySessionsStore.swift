import Logging
import PostgresNIO

/// The `live_relay_sessions` table: which caller created each Janus session through the
/// relay. Janus session ids are guessable in principle and Janus itself knows no users, so the
/// relay passes a call on only for the session's owner.
struct LiveRelaySessionsStore: Sendable {
    /// Rows unused this long are swept: Janus ends a session after 60 s without a keep-alive.
    static let unusedSeconds = 600

    let client: PostgresPool
    let logger: Logger

    /// The owner key of a caller: `user:{id}` or `api_key:{id}`.
    static func owner(_ principal: Principal) -> String { "\(principal.kind.rawValue):\(principal.id)" }

    func bind(session: UInt64, owner: String) async throws {
        try await client.query(
            """
            INSERT INTO live_relay_sessions (janus_session, owner) VALUES (\(Int64(bitPattern: session)), \(owner))
            ON CONFLICT (janus_session) DO UPDATE SET owner = excluded.owner, created_at = now(), last_used_at = now()
            """, logger: logger)
    }

    /// Whether `owner` created `session`; marks it used when so.
    func claim(session: UInt64, owner: String) async throws -> Bool {
        var owned = false
        for try await _ in try await client.query(
            """
            UPDATE live_relay_sessions SET last_used_at = now()
            WHERE janus_session = \(Int64(bitPattern: session)) AND owner = \(owner) RETURNING 1
            """, logger: logger).decode(Int32.self)
        {
            owned = true
        }
        return owned
    }

    func release(session: UInt64) async throws {
        try await client.query("DELETE FROM live_relay_sessions WHERE janus_session = \(Int64(bitPattern: session))", logger: logger)
    }

    /// Forgets sessions unused for ``unusedSeconds``; returns how many.
    func sweep() async throws -> Int {
        var count = 0
        for try await gone in try await client.query(
            """
            WITH gone AS (DELETE FROM live_relay_sessions WHERE last_used_at < now() - \(Self.unusedSeconds)::int8 * interval '1 second'
                          RETURNING 1)
            SELECT count(*) FROM gone
            """, logger: logger).decode(Int64.self)
        {
            count = Int(gone)
        }
        return count
    }
}
