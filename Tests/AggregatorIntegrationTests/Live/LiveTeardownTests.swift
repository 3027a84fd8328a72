import Foundation
import Logging
@testable import OutpostAggregator
import OutpostSupport
import Testing

/// A live view's teardown in real PostgreSQL (Janus absent: its mountpoint's destroy fails and
/// is only logged): the stop follows the row as deleted and is queued in the same statement.
@Suite("Live view teardown (real PostgreSQL)", .serialized, .timeLimit(.minutes(2)))
struct LiveTeardownTests {
    static func liveView(_ env: APITestEnvironment) -> LiveView {
        let logger = Logger(label: "test.live")
        return LiveView(settings: LiveSettings(janusUrl: "http://127.0.0.1:1", mediaAddress: "192.0.2.1"),
                        janus: JanusClient(baseURL: "http://127.0.0.1:1", secrets: .init(apiSecret: "s", adminKey: "k"), timeout: .seconds(2)),
                        adminKey: "k",
                        store: LiveSessionsStore(client: env.client, logger: logger), devices: DevicesStore(client: env.client, logger: logger),
                        relaySessions: LiveRelaySessionsStore(client: env.client, logger: logger),
                        commands: CommandsStore(client: env.client, logger: logger), audit: AuditLog(client: env.client, logger: logger),
                        metrics: env.metrics, logger: logger, ingress: nil, relays: MediaRelaysStore(client: env.client, logger: logger))
    }

    static func session(_ device: String, mountpoint: Int, startCommand: String, mediaHost: String?) -> LiveSessionsStore.Session {
        LiveSessionsStore.Session(device: device, mountpoint: mountpoint, rtpPort: 20_000, rtcpPort: 20_001, startCommand: startCommand,
                                 startedBy: "test", startedAt: Date(), lastViewerAt: Date(), mediaHost: mediaHost)
    }

    @Test("a stale snapshot cannot skip the stop or send one to a relay-fed session; a second teardown queues nothing")
    func stopFollowsTheDeletedRow() async throws {
        try await APITestEnvironment.with { env in
            let live = Self.liveView(env)
            _ = try await env.psql("INSERT INTO devices (id, kind) VALUES ('cam-a', 'camera'), ('cam-b', 'camera'), ('cam-c', 'camera')")
            func stops(_ device: String) async throws -> [String] {
                try await env.psql("""
                    SELECT status || ' ' || args::text || ' ' || created_by FROM commands WHERE device = '\(device)' AND name = 'stop_stream'
                    """).split(separator: "\n").map(String.init)
            }

            // The agent streams straight to the mountpoint, but the sweep's snapshot predates
            // that (it still says the recorder's relay fed it): the row as deleted decides.
            #expect(try await live.store.insert(Self.session("cam-a", mountpoint: 7, startCommand: "cmd-start-a", mediaHost: "10.1.2.3")))
            try await live.teardown(Self.session("cam-a", mountpoint: 7, startCommand: LiveSessionsStore.fromRecording, mediaHost: nil),
                                    reason: "idle", origin: LiveView.systemOrigin)
            #expect(try await stops("cam-a") == [#"queued {"host": "10.1.2.3", "rtpPort": 20000} cli:live-view"#])
            let args = try JSONDecoder().decode(JSONValue.self, from: Data(try await env.psql(
                "SELECT args::text FROM commands WHERE device = 'cam-a' AND name = 'stop_stream'").utf8))
            #expect(args == LivePlan.stopArguments(host: "10.1.2.3", rtpPort: 20_000))
            #expect(try await env.psql("SELECT count(*) FROM live_sessions WHERE device = 'cam-a'") == "0")
            #expect(try await env.psql("SELECT data->>'reason' FROM device_events WHERE device = 'cam-a' AND kind = 'stream_state'") == "idle")
            #expect(try await env.psql("SELECT count(*) FROM audit_log WHERE action = 'command.send' AND target = 'device:cam-a'") == "1")

            // The race's loser (an operator's stop after the sweep's) queues nothing more.
            try await live.teardown(Self.session("cam-a", mountpoint: 7, startCommand: "cmd-start-a", mediaHost: "10.1.2.3"),
                                    reason: "stopped", origin: LiveView.systemOrigin)
            #expect(try await stops("cam-a").count == 1)

            // The recorder took the stream over after the snapshot: the relay feeds the mountpoint,
            // and a stop_stream would end the stream the recording needs.
            #expect(try await live.store.insert(Self.session("cam-b", mountpoint: 8, startCommand: "cmd-start-b", mediaHost: nil)))
            _ = try await env.psql("UPDATE live_sessions SET start_command = 'recording' WHERE device = 'cam-b'")
            try await live.teardown(Self.session("cam-b", mountpoint: 8, startCommand: "cmd-start-b", mediaHost: nil),
                                    reason: "stopped", origin: LiveView.systemOrigin)
            #expect(try await stops("cam-b").isEmpty)
            #expect(try await env.psql("SELECT count(*) FROM live_sessions WHERE device = 'cam-b'") == "0")

            // A session from before media_host was kept: addressed to live.media_address.
            #expect(try await live.store.insert(Self.session("cam-c", mountpoint: 9, startCommand: "cmd-start-c", mediaHost: nil)))
            try await live.teardown(Self.session("cam-c", mountpoint: 9, startCommand: "cmd-start-c", mediaHost: nil),
                                    reason: "offline", origin: LiveView.systemOrigin)
            #expect(try await stops("cam-c") == [#"queued {"host": "192.0.2.1", "rtpPort": 20000} cli:live-view"#])
        }
    }
}
