import Foundation
import OutpostSupport
import OutpostWire
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("Admin API device events, audit filters, dotted metrics", .serialized, .timeLimit(.minutes(5)))
struct DeviceEventsAPITests {
    // MARK: Values, without the database

    @Test("an events query takes a time range, a kind and a cursor of the documented grammar; anything else is a 400 with its code")
    func eventsQueryValues() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let plain = try DeviceEventsQuery([:], now: now)
        #expect(plain.from == nil && plain.to == now && plain.kind == nil && plain.limit == 100 && plain.after == nil)
        let full = try DeviceEventsQuery(["from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00.5Z", "kind": "stream_stats",
                                          "limit": "1000", "cursor": "-5.42"], now: now)
        #expect(full.from == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(full.to == Date(timeIntervalSince1970: 1_767_312_000.5))
        #expect(full.kind == "stream_stats" && full.limit == 1000)
        #expect(full.after == .init(t: -5, id: 42))
        #expect(DeviceEventsQuery.Position(t: 1_767_225_600_000_123, id: 9).cursorText == "1767225600000123.9")

        let refusals: [([String: String], APIError.Code)] = [
            (["kind": "Stream"], .invalidParameter), (["kind": "host.cpu"], .invalidParameter), (["kind": String(repeating: "a", count: 65)], .invalidParameter),
            (["limit": "0"], .invalidParameter), (["limit": "1001"], .invalidParameter), (["from": "yesterday"], .invalidParameter),
            (["cursor": "12"], .invalidCursor), (["cursor": "1.2.3"], .invalidCursor), (["cursor": "1.-2"], .invalidCursor),
            (["cursor": "12345678901234567.1"], .invalidCursor), (["cursor": "1.1234567890123456789"], .invalidCursor),
        ]
        for (query, code) in refusals {
            do {
                _ = try DeviceEventsQuery(query, now: now)
                Issue.record("\(query) was accepted")
            } catch {
                #expect(error.code == code, "\(query)")
                #expect(error.status == .badRequest, "\(query)")
            }
        }
        // The OpenAPI document states these grammars; every cursor matching it is accepted, and only those.
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(OpenAPIDocument.json.utf8))
        guard case .array(let parameters)? = document["paths"]?["/devices/{id}/events"]?["get"]?["parameters"] else {
            Issue.record("the events route has no parameters")
            return
        }
        #expect(parameters.first { $0["name"] == "cursor" }?["schema"]?["pattern"]?.stringValue == DeviceEventsQuery.cursorPattern)
        #expect(parameters.first { $0["name"] == "kind" }?["schema"]?["pattern"]?.stringValue == DeviceEventsQuery.kindPattern)
        for text in ["0.0", "-1.1", "1234567890123456.123456789012345678", "12.x", "", ".1", "1."] {
            let matches = text.range(of: DeviceEventsQuery.cursorPattern, options: .regularExpression) != nil
            #expect((DeviceEventsQuery.Position(cursorText: Substring(text)) != nil) == matches, "\(text)")
        }
    }

    @Test("the audit filter takes actor, action, target and a time range; control characters and bad times are 400")
    func auditFilterValues() throws {
        let filter = try AuditLog.Filter(["actor": "cli:root", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z",
                                          "action": "device.patch", "limit": "7", "cursor": "99"])
        #expect(filter.actor == "cli:root" && filter.action == "device.patch" && filter.limit == 7 && filter.before == 99)
        #expect(filter.from == Date(timeIntervalSince1970: 1_767_225_600) && filter.to == Date(timeIntervalSince1970: 1_769_904_000))
        for query: [String: String] in [["actor": ""], ["actor": "a\u{7}b"], ["actor": String(repeating: "x", count: 201)],
                                        ["from": "2026-13-01T00:00:00Z"], ["to": "soon"], ["action": "patch"]] {
            do {
                _ = try AuditLog.Filter(query)
                Issue.record("\(query) was accepted")
            } catch {
                #expect(error.code == .invalidParameter, "\(query)")
            }
        }
    }

    @Test("readings queries accept the wire's metric names, dots included, and nothing the wire refuses")
    func metricGrammarAgrees() throws {
        for name in ["power_w", "host.cpu_pct", "host.mem_used_bytes", "a", "a." + String(repeating: "b", count: 62)] {
            #expect(Reading.isValidMetric(name), "\(name)")
            #expect((try? ReadingsQuery(["metric": name])) != nil, "\(name)")
        }
        for name in ["Host.cpu", ".cpu", "1cpu", "cpu-pct", "a" + String(repeating: "b", count: 64), ""] {
            #expect(!Reading.isValidMetric(name), "\(name)")
            #expect((try? ReadingsQuery(["metric": name])) == nil, "\(name)")
        }
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(OpenAPIDocument.json.utf8))
        for path in ["/devices/{id}/readings", "/devices/{id}/readings/export"] {
            guard case .array(let parameters)? = document["paths"]?[path]?["get"]?["parameters"] else {
                Issue.record("\(path) has no parameters")
                continue
            }
            let metric = parameters.first { $0["name"] == "metric" }
            #expect(metric?["schema"]?["pattern"]?.stringValue == ReadingsQuery.metricPattern, "\(path)")
        }
    }

    // MARK: A real aggregator and PostgreSQL

    @Test("a device's stored events page newest first by time range and kind; each new one arrives live as device.event")
    func storedEventsAndLiveAppends() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("INSERT INTO devices (id, kind, status) VALUES ('cam-1', 'camera', 'online'), ('cam-2', 'camera', 'online')")
            let viewer = try await env.createAPIKey(role: .viewer)
            let stream = try await env.open("/api/v1/events?device=cam-1", token: viewer)
            let live = EventStreamReader(stream.stream, path: "/api/v1/events?device=cam-1", validator: env.validator)
            defer { live.cancel() }
            try await waitUntil(timeout: .seconds(30), "subscribed") { await env.api.events.subscriberCount >= 1 }
            try await env.waitForEventFeed()

            // Stored through ingest's own writer, one second apart, oldest first.
            let base: Int64 = 1_767_225_600_000
            let store = DeviceEventsStore(client: env.client, logger: env.logger)
            let cam1 = DeviceID("cam-1")!, cam2 = DeviceID("cam-2")!
            var events: [DeviceEvent] = (0..<7).map { index in
                DeviceEvent(device: cam1, ts: base + Int64(index) * 1000, kind: index % 3 == 0 ? "stream_state" : "stream_stats",
                            data: ["n": .number(Double(index))])
            }
            events.append(DeviceEvent(device: cam2, ts: base + 500, kind: "stream_stats", data: ["n": 100]))
            events.append(DeviceEvent(device: cam1, ts: base + 10_000, kind: "warning", data: ["big": .string(String(repeating: "x", count: 5000))]))
            #expect(try await store.insert(events) == [cam1, cam2])

            // Newest first, two per page, to the end; the cursor of the last page is null.
            var seen: [Double] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/api/v1/devices/cam-1/events?limit=2&to=2026-01-01T00:00:09Z" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await env.send(.GET, path, token: viewer)
                #expect(reply.status == 200)
                guard case .array(let items)? = reply.json["items"] else { break }
                seen += items.compactMap { $0["data"]?["n"]?.doubleValue }
                cursor = reply.json["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == [6, 5, 4, 3, 2, 1, 0])
            #expect(pages == 4)

            let ranged = try await env.send(
                .GET, "/api/v1/devices/cam-1/events?kind=stream_state&from=2026-01-01T00:00:01Z&to=2026-01-01T00:00:07Z", token: viewer)
            #expect(ranged.status == 200)
            #expect(ranged.json["items"]?[0]?["kind"] == "stream_state")
            guard case .array(let stateItems)? = ranged.json["items"] else { throw Failure("no items: \(ranged.text)") }
            #expect(stateItems.map { $0["data"]?["n"]?.doubleValue } == [6, 3])
            #expect(stateItems.first?["ts"] == "2026-01-01T00:00:06.000Z")

            // The large warning is stored whole; its live announcement says it was truncated.
            let warning = try await env.send(.GET, "/api/v1/devices/cam-1/events?kind=warning", token: viewer)
            #expect(warning.json["items"]?[0]?["data"]?["big"]?.stringValue?.count == 5000)

            let announced = try await live.wait(for: 8, timeout: .seconds(20))
            #expect(announced.allSatisfy { $0.type == "device.event" && $0.data["device"] == "cam-1" })
            #expect(announced.prefix(7).map { $0.data["data"]?["n"]?.doubleValue } == [0, 1, 2, 3, 4, 5, 6])
            #expect(announced[0].data["kind"] == "stream_state" && announced[0].data["truncated"] == false)
            #expect(announced[7].data["kind"] == "warning" && announced[7].data["truncated"] == true && announced[7].data["data"] == .null)
            #expect(live.nonconforming.isEmpty, "events off the OpenAPI document: \(live.nonconforming)")

            #expect(try await env.send(.GET, "/api/v1/devices/cam-9/events", token: viewer).errorCode == "not_found")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-1/events?cursor=abc", token: viewer).errorCode == "invalid_cursor")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-1/events?kind=Warning", token: viewer).errorCode == "invalid_parameter")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-1/events?level=1", token: viewer).errorCode == "unknown_parameter")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-1/events").status == 401)
        }
    }

    @Test("while a camera is live its stream_stats carry the viewers Janus counted; the end of a live view is a stream_state event with its reason; relay sessions answer only their creator")
    func liveViewersAndEndReason() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id, kind, status) VALUES ('cam-1', 'camera', 'online'), ('cam-2', 'camera', 'online');
                INSERT INTO live_sessions (device, mountpoint, rtp_port, rtcp_port, start_command, started_by)
                VALUES ('cam-1', 77, 47000, 47001, 'c1', 'alice')
                """)
            let sessions = LiveSessionsStore(client: env.client, logger: env.logger)
            try await sessions.recordViewers(device: "cam-1", count: 2)
            #expect(try await env.psql("SELECT viewers, last_viewer_at > started_at FROM live_sessions") == "2|t")
            let store = DeviceEventsStore(client: env.client, logger: env.logger)
            let now = WireClock.nowMs()
            _ = try await store.insert([
                DeviceEvent(device: DeviceID("cam-1")!, ts: now, kind: "stream_stats", data: ["bitrateKbps": 800]),
                DeviceEvent(device: DeviceID("cam-2")!, ts: now, kind: "stream_stats", data: ["bitrateKbps": 500]),
                DeviceEvent(device: DeviceID("cam-1")!, ts: now, kind: "warning", data: ["message": "x"]),
            ])
            let stored = try await env.psql(
                "SELECT string_agg(device || ':' || kind || ':' || coalesce(data->>'viewers', '-'), ',' ORDER BY device, kind) FROM device_events")
            #expect(stored == "cam-1:stream_stats:2,cam-1:warning:-,cam-2:stream_stats:-")

            let stop = LiveSessionsStore.StopRequest(fallbackHost: "127.0.0.1", ttlSeconds: 30, actor: "cli:live-view")
            #expect(try await sessions.end(device: "cam-1", mountpoint: 78, reason: "no_media", stop: stop) == nil)
            #expect(try await sessions.end(device: "cam-1", mountpoint: 77, reason: "no_media", stop: stop) != nil)
            let viewer = try await env.createAPIKey(role: .viewer)
            let ended = try await env.send(.GET, "/api/v1/devices/cam-1/events?kind=stream_state", token: viewer)
            guard case .array(let items)? = ended.json["items"] else { throw Failure("no items: \(ended.text)") }
            #expect(items.count == 1)
            #expect(items.first?["data"] == ["state": "live_ended", "reason": "no_media", "mountpoint": 77])

            // The relay's Janus sessions: only their creator claims one; unused ones are swept.
            let relay = LiveRelaySessionsStore(client: env.client, logger: env.logger)
            let alice = LiveRelaySessionsStore.owner(Principal(kind: .user, id: "u-alice", name: "alice", role: .viewer))
            let key = LiveRelaySessionsStore.owner(Principal(kind: .apiKey, id: "k-1", name: "automation", role: .admin))
            #expect(alice == "user:u-alice" && key == "api_key:k-1")
            try await relay.bind(session: 4_503_599_627_370_495, owner: alice)
            try await relay.bind(session: 12, owner: key)
            #expect(try await relay.claim(session: 4_503_599_627_370_495, owner: alice))
            #expect(try await relay.claim(session: 4_503_599_627_370_495, owner: key) == false)
            #expect(try await relay.claim(session: 13, owner: alice) == false)
            #expect(try await relay.sweep() == 0)
            try await env.psql("UPDATE live_relay_sessions SET last_used_at = now() - interval '11 minutes' WHERE janus_session = 12")
            #expect(try await relay.sweep() == 1)
            #expect(try await relay.claim(session: 12, owner: key) == false)
            try await relay.release(session: 4_503_599_627_370_495)
            #expect(try await env.psql("SELECT count(*) FROM live_relay_sessions") == "0")
        }
    }

    @Test("readings of a dotted metric (host.cpu_pct), as readings/latest lists it, are served by /readings and the export")
    func dottedMetricReadings() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id) VALUES ('host-1');
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'host-1', 1, n, '2026-01-01T00:00:00Z'::timestamptz + n * interval '1 second', 'host.cpu_pct', n * 1.5
                FROM generate_series(1, 5) n
                """)
            let viewer = try await env.createAPIKey(role: .viewer)
            let latest = try await env.send(.GET, "/api/v1/devices/host-1/readings/latest", token: viewer)
            #expect(latest.json["items"]?[0]?["metric"] == "host.cpu_pct")
            let raw = try await env.send(
                .GET, "/api/v1/devices/host-1/readings?metric=host.cpu_pct&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", token: viewer)
            #expect(raw.status == 200)
            guard case .array(let items)? = raw.json["items"] else { throw Failure("no items: \(raw.text)") }
            #expect(items.map { $0["value"]?.doubleValue } == [1.5, 3, 4.5, 6, 7.5])
            let export = try await env.send(
                .GET, "/api/v1/devices/host-1/readings/export?metric=host.cpu_pct&from=2026-01-01T00:00:00Z&format=csv", token: viewer)
            #expect(export.status == 200)
            #expect(export.text.split(separator: "\n").count == 6)
            let refused = try await env.send(.GET, "/api/v1/devices/host-1/readings?metric=host-cpu", token: viewer)
            #expect(refused.errorCode == "invalid_parameter")
        }
    }

    @Test("the audit log is filtered by actor and time on the server, page by page")
    func auditByActorAndTime() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO audit_log (actor, action, target, details, at)
                SELECT CASE WHEN n % 2 = 0 THEN 'alice' ELSE 'bob' END, 'device.patch', 'device:m-' || n, '{}'::jsonb,
                       '2026-01-01T00:00:00Z'::timestamptz + n * interval '1 hour'
                FROM generate_series(1, 20) n
                """)
            let admin = try await env.createAPIKey(role: .admin)
            var targets: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/api/v1/audit?actor=alice&from=2026-01-01T04:00:00Z&to=2026-01-01T15:00:00Z&limit=2"
                    + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await env.send(.GET, path, token: admin)
                #expect(reply.status == 200)
                guard case .array(let items)? = reply.json["items"] else { break }
                #expect(items.allSatisfy { $0["actor"] == "alice" })
                targets += items.compactMap { $0["target"]?.stringValue }
                cursor = reply.json["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(targets == ["device:m-14", "device:m-12", "device:m-10", "device:m-8", "device:m-6", "device:m-4"])
            #expect(pages == 3)
            let bob = try await env.send(.GET, "/api/v1/audit?actor=bob&limit=500", token: admin)
            guard case .array(let bobItems)? = bob.json["items"] else { throw Failure("no items: \(bob.text)") }
            #expect(bobItems.count == 10)
            #expect(try await env.send(.GET, "/api/v1/audit?actor=%07", token: admin).errorCode == "invalid_parameter")
            #expect(try await env.send(.GET, "/api/v1/audit?from=tuesday", token: admin).errorCode == "invalid_parameter")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
