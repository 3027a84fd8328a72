import AsyncHTTPClient
import Foundation
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("Admin API live events", .serialized, .timeLimit(.minutes(3)))
struct LiveEventsTests {
    @Test("device status and command state changes arrive as server-sent events within seconds; the device filter holds")
    func statusEvents() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id, status) VALUES ('cam-7', 'online'), ('cam-8', 'online');
                INSERT INTO commands (id, device, name, created_by, expires_at) VALUES ('c1', 'cam-7', 'ping', 'test', now() + interval '1 hour')
                """)
            let viewer = try await env.createAPIKey(role: .viewer)
            let all = try await env.open("/api/v1/events", token: viewer)
            let filtered = try await env.open("/api/v1/events?device=cam-8", token: viewer)
            #expect(all.reply.status == 200)
            #expect(all.reply.headers.first(name: "Content-Type") == "text/event-stream")
            let allEvents = EventStreamReader(all.stream, path: "/api/v1/events", validator: env.validator)
            let filteredEvents = EventStreamReader(filtered.stream, path: "/api/v1/events?device=cam-8", validator: env.validator)
            defer {
                allEvents.cancel()
                filteredEvents.cancel()
            }
            try await waitUntil(timeout: .seconds(30), "both subscriptions registered") { await env.api.events.subscriberCount >= 2 }
            try await env.waitForEventFeed()

            let changed = ContinuousClock.now
            try await env.psql("UPDATE devices SET status = 'offline', status_changed_at = now() WHERE id = 'cam-7'")
            try await env.psql("UPDATE commands SET status = 'succeeded', finished_at = now() WHERE id = 'c1'")
            try await env.psql("UPDATE devices SET status = 'offline', status_changed_at = now() WHERE id = 'cam-8'")

            let events = try await allEvents.wait(for: 3, timeout: .seconds(20))
            let latency = events[2].receivedAt - changed
            #expect(events.map(\.type) == ["device.status", "command.status", "device.status"])
            #expect(events[0].data["device"] == "cam-7")
            #expect(events[0].data["status"] == "offline")
            #expect(events[1].data["command"] == "c1")
            #expect(events[1].data["status"] == "succeeded")
            #expect(latency < .seconds(10))
            let only = try await filteredEvents.wait(for: 1, timeout: .seconds(20))
            #expect(only.map { $0.data["device"] } == ["cam-8"])
            #expect(allEvents.nonconforming.isEmpty && filteredEvents.nonconforming.isEmpty,
                    "events off the OpenAPI document: \(allEvents.nonconforming + filteredEvents.nonconforming)")
            print("live events: 3 events received \(latency) after the first change")
        }
    }

    @Test("online, offline and online again in one batch of states and one millisecond are three device.status events")
    func statusFlapInOneBatch() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("INSERT INTO devices (id, status) VALUES ('meter-9', 'offline')")
            let viewer = try await env.createAPIKey(role: .viewer)
            let stream = try await env.open("/api/v1/events?device=meter-9", token: viewer)
            let events = EventStreamReader(stream.stream, path: "/api/v1/events?device=meter-9", validator: env.validator)
            defer { events.cancel() }
            try await waitUntil(timeout: .seconds(30), "subscription registered") { await env.api.events.subscriberCount >= 1 }
            try await env.waitForEventFeed()
            // One statement, one transaction, every change dated the same millisecond (as PresenceService writes a batch).
            try await env.psql("""
                SELECT outpost_apply_states(ARRAY['meter-9', 'meter-9', 'meter-9'], ARRAY['online', 'offline', 'online'],
                    ARRAY[1000, 1000, 1000]::int8[], ARRAY[1000, 1000, 1000]::int8[], ARRAY[true, true, true],
                    ARRAY[false, false, false], ARRAY['', '', ''], ARRAY[-1, -1, -1]::int8[], ARRAY[-1, -1, -1]::int8[],
                    ARRAY['', '', ''], ARRAY[-1, -1, -1]::int8[])
                """)
            let received = try await events.wait(for: 3, timeout: .seconds(20))
            #expect(received.map { $0.data["status"] } == ["online", "offline", "online"])
            let ids = received.compactMap { $0.data["id"] }
            #expect(ids.count == 3 && ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2])
            #expect(events.nonconforming.isEmpty, "events off the OpenAPI document: \(events.nonconforming)")
        }
    }

    @Test("stream start waits for the agent's SDP offer; failures are 502, silence is 202 with the command's Location, offline is 409 at once")
    func streams() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id, kind, status) VALUES ('cam-1', 'camera', 'online'), ('meter-1', 'meter', 'online'),
                  ('cam-2', 'camera', 'offline')
                """)
            let operatorKey = try await env.createAPIKey(role: .operator)
            let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=cam-1\r\nc=IN IP4 192.0.2.10\r\nm=video 5004 RTP/AVP 96\r\n"

            async let started = env.send(.POST, "/api/v1/devices/cam-1/streams/start?wait=20", token: operatorKey,
                                         json: ["args": ["host": "192.0.2.99", "port": 5004]])
            try await waitUntil(timeout: .seconds(20), "start_stream queued") {
                try await env.psql("SELECT count(*) FROM commands WHERE name = 'start_stream'") == "1"
            }
            try await env.psql("""
                UPDATE commands SET status = 'succeeded', finished_at = now(), output = jsonb_build_object('sdp', '\(offer)')
                WHERE name = 'start_stream'
                """)
            let reply = try await started
            #expect(reply.status == 200)
            #expect(reply.json["offer"]?.stringValue == offer)
            #expect(reply.json["command"]?["args"]?["port"] == 5004)

            async let stopped = env.send(.POST, "/api/v1/devices/cam-1/streams/stop", token: operatorKey, json: [:])
            try await waitUntil(timeout: .seconds(20), "stop_stream queued") {
                try await env.psql("SELECT count(*) FROM commands WHERE name = 'stop_stream'") == "1"
            }
            try await env.psql("UPDATE commands SET status = 'failed', error_code = 'no_stream', error_message = 'nothing streaming' WHERE name = 'stop_stream'")
            let failed = try await stopped
            #expect(failed.status == 502)
            #expect(failed.errorCode == "command_failed")
            #expect(failed.json["error"]?["message"]?.stringValue?.contains("nothing streaming") == true)

            let silent = try await env.send(.POST, "/api/v1/devices/cam-1/streams/start?wait=1", token: operatorKey, json: [:])
            #expect(silent.status == 202)
            #expect(silent.headers.first(name: "Location")?.hasPrefix("/api/v1/commands/cmd-") == true)
            #expect(try await env.send(.POST, "/api/v1/devices/meter-1/streams/start", token: operatorKey, json: [:]).status == 409)
            let asked = ContinuousClock.now
            let offline = try await env.send(.POST, "/api/v1/devices/cam-2/streams/start", token: operatorKey, json: [:])
            #expect(offline.status == 409)
            #expect(offline.errorCode == "device_offline")
            #expect(ContinuousClock.now - asked < .seconds(10), "an offline camera is refused without waiting for it")
            #expect(try await env.psql("SELECT count(*) FROM commands WHERE device = 'cam-2'") == "0")
            #expect(try await env.send(.POST, "/api/v1/devices/cam-1/streams/start?wait=99", token: operatorKey, json: [:]).errorCode
                    == "invalid_parameter")
        }
    }
}
