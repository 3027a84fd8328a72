import Logging
import PostgresNIO

/// The statements a recorder runs on `live_sessions` (docs/recordings.md, "One stream"): a
/// recorder that starts while a live view has the agent's stream takes that stream over with
/// the session's key, its relay feeds the sessions marked ``fromRecording``, and when it stops
/// the stream is handed back to the live view.
extension LiveSessionsStore {
    /// Where a mountpoint receives; a session from before `media_host` was kept gets the
    /// caller's default host.
    struct MediaAddress: Sendable, Hashable {
        let host: String
        let rtpPort: Int
        let rtcpPort: Int
    }

    /// A live view the agent streams to directly (not through a relay), with its stream's key.
    struct DirectLive: Sendable, Equatable {
        let mountpoint: Int
        let destination: MediaAddress
        let srtpKey: String
    }

    /// The mountpoint a relay of `device` should feed: its live session when that is fed by a
    /// relay (at most one: a camera has one live session).
    func relayFedAddresses(device: String, defaultHost: String) async throws -> Set<MediaAddress> {
        var result = Set<MediaAddress>()
        for try await row in try await client.query(
            """
            SELECT media_host, rtp_port, rtcp_port FROM live_sessions WHERE device = \(device) AND start_command = 'recording'
            """, logger: logger).decode((String?, Int32, Int32).self)
        {
            result.insert(MediaAddress(host: row.0 ?? defaultHost, rtpPort: Int(row.1), rtcpPort: Int(row.2)))
        }
        return result
    }

    /// The camera's live view when the agent streams to it directly and its key is known.
    func directLive(device: String, defaultHost: String) async throws -> DirectLive? {
        for try await row in try await client.query(
            """
            SELECT mountpoint, media_host, rtp_port, rtcp_port, srtp_key FROM live_sessions
            WHERE device = \(device) AND start_command <> 'recording' AND srtp_key IS NOT NULL
            """, logger: logger).decode((Int32, String?, Int32, Int32, String).self)
        {
            return DirectLive(mountpoint: Int(row.0),
                              destination: MediaAddress(host: row.1 ?? defaultHost, rtpPort: Int(row.2), rtcpPort: Int(row.3)),
                              srtpKey: row.4)
        }
        return nil
    }

    /// Marks the live session as fed by the relay now (its stop then leaves the agent's stream
    /// alone); false when it ended meanwhile.
    func takeOver(device: String, mountpoint: Int) async throws -> Bool {
        var taken = false
        for try await _ in try await client.query(
            """
            UPDATE live_sessions SET start_command = 'recording', srtp_key = NULL
            WHERE device = \(device) AND mountpoint = \(Int32(mountpoint)) RETURNING 1
            """, logger: logger).decode(Int32.self)
        {
            taken = true
        }
        return taken
    }

    /// The relay-fed live session of `device`, for handing the stream back to it when recording stops.
    func relayedLive(device: String, defaultHost: String) async throws -> (mountpoint: Int, destination: MediaAddress)? {
        for try await row in try await client.query(
            """
            SELECT mountpoint, media_host, rtp_port, rtcp_port FROM live_sessions WHERE device = \(device) AND start_command = 'recording'
            """, logger: logger).decode((Int32, String?, Int32, Int32).self)
        {
            return (Int(row.0), MediaAddress(host: row.1 ?? defaultHost, rtpPort: Int(row.2), rtcpPort: Int(row.3)))
        }
        return nil
    }

    /// After recording stopped, the agent streams to the live view directly again under `command`, with `srtpKey`.
    func handBack(device: String, mountpoint: Int, command: String, srtpKey: String) async throws -> Bool {
        var done = false
        for try await _ in try await client.query(
            """
            UPDATE live_sessions SET start_command = \(command), srtp_key = \(srtpKey)
            WHERE device = \(device) AND mountpoint = \(Int32(mountpoint)) AND start_command = 'recording' RETURNING 1
            """, logger: logger).decode(Int32.self)
        {
            done = true
        }
        return done
    }
}
