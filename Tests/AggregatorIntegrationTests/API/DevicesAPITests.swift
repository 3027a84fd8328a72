import Foundation
import NIOHTTP1
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("Admin API devices and bad input", .serialized, .timeLimit(.minutes(5)))
struct DevicesAPITests {
    @Test("list filters and cursor pagination, get, patch, mass assignment refused, decommission, audit")
    func devices() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id, kind, name, tags, status, buffer_depth) VALUES
                  ('cam-1', 'camera', 'Gate camera', '{site:north}', 'online', 0),
                  ('cam-2', 'camera', 'Dock camera', '{site:south}', 'offline', 12),
                  ('meter-1', 'meter', 'Main 50%_off', '{site:north,phase:3}', 'online', 4),
                  ('meter-2', 'meter', NULL, '{site:north}', 'unknown', NULL),
                  ('meter-3', 'meter', 'Pump', '{}', 'offline', 7)
                """)
            let admin = try await env.createAPIKey(role: .admin)
            let operatorKey = try await env.createAPIKey(role: .operator)

            func ids(_ query: String) async throws -> [String] {
                let reply = try await env.send(.GET, "/api/v1/devices\(query)", token: admin)
                #expect(reply.status == 200, "\(query): \(reply.text)")
                guard case .array(let items)? = reply.json["items"] else { return [] }
                return items.compactMap { $0["id"]?.stringValue }
            }
            #expect(try await ids("") == ["cam-1", "cam-2", "meter-1", "meter-2", "meter-3"])
            #expect(try await ids("?kind=camera") == ["cam-1", "cam-2"])
            #expect(try await ids("?status=online") == ["cam-1", "meter-1"])
            #expect(try await ids("?tag=site:north&kind=meter") == ["meter-1", "meter-2"])
            #expect(try await ids("?q=CAMERA") == ["cam-1", "cam-2"])
            #expect(try await ids("?q=50%25_") == ["meter-1"], "LIKE wildcards in q are literal")
            #expect(try await ids("?q=%25") == ["meter-1"])

            var walked: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = "?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await env.send(.GET, "/api/v1/devices\(query)", token: admin)
                guard case .array(let items)? = reply.json["items"] else { break }
                walked += items.compactMap { $0["id"]?.stringValue }
                cursor = reply.json["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(walked == ["cam-1", "cam-2", "meter-1", "meter-2", "meter-3"])
            #expect(pages == 3)

            let one = try await env.send(.GET, "/api/v1/devices/cam-2", token: admin)
            #expect(one.json["bufferDepth"] == 12)
            #expect(one.json["status"] == "offline")
            #expect(try await env.send(.GET, "/api/v1/devices/nope", token: admin).status == 404)

            for field in ["status", "revokedAt", "id", "kind", "lastSeen", "bufferDepth", "decommissionedAt"] {
                let attempt = try await env.send(.PATCH, "/api/v1/devices/cam-1", token: operatorKey,
                                                 json: .object(["name": "ok", field: "online"]))
                #expect(attempt.status == 422, "\(field)")
                #expect(attempt.errorCode == "read_only_field", "\(field)")
            }
            #expect(try await env.psql("SELECT name || '|' || status || '|' || coalesce(revoked_at::text, '-') FROM devices WHERE id = 'cam-1'")
                    == "Gate camera|online|-")

            let patched = try await env.send(.PATCH, "/api/v1/devices/cam-1", token: operatorKey, json: [
                "name": "Front gate", "tags": ["site:north", "gate", "gate"], "metadata": ["floor": 2, "notes": "pole 4"],
            ])
            #expect(patched.status == 200)
            #expect(patched.json["name"] == "Front gate")
            #expect(patched.json["tags"] == ["gate", "site:north"])
            #expect(patched.json["metadata"]?["floor"] == 2)
            let cleared = try await env.send(.PATCH, "/api/v1/devices/cam-1", token: operatorKey, json: ["name": nil])
            #expect(cleared.json["name"] == .null)
            #expect(cleared.json["tags"] == ["gate", "site:north"], "fields not sent stay as they were")

            try await env.psql("""
                INSERT INTO certificates (serial, subject, device_id, purpose, not_before, not_after, issued_at, revoked_at) VALUES
                  ('0a', 'cam-2', 'cam-2', 'device', '2026-01-01Z', '2036-02-01Z', '2026-01-01Z', NULL),
                  ('0b', 'cam-2', 'cam-2', 'device', '2026-01-20Z', '2036-03-01Z', '2026-01-20Z', '2026-01-25Z'),
                  ('0c', 'cam-2', 'cam-2', 'device', '2026-01-25Z', '2036-02-25Z', '2026-01-25Z', NULL);
                INSERT INTO enrollment_tokens (token_hash, device_id, expires_at, used_at, used_serial) VALUES
                  (repeat('a', 64), 'cam-2', now() + interval '1 hour', NULL, NULL),
                  (repeat('b', 64), 'cam-2', now() - interval '1 hour', NULL, NULL),
                  (repeat('c', 64), 'meter-1', now() + interval '1 hour', now(), '0a')
                """)
            #expect(try await env.send(.GET, "/api/v1/devices/cam-2", token: admin).json["certificateExpiresAt"] == "2036-02-25T00:00:00.000Z",
                    "the newest unrevoked certificate, not the revoked one")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-1", token: admin).json["certificateExpiresAt"] == .null)
            let certificates = try await env.send(.GET, "/api/v1/devices/cam-2/certificates", token: admin)
            #expect(certificates.json["items"].map { if case .array(let a) = $0 { a.compactMap { $0["serial"]?.stringValue } } else { [] } }
                    == ["0c", "0b", "0a"])
            #expect(try await env.send(.GET, "/api/v1/devices/cam-2/certificates", token: operatorKey).status == 403)
            let pending = try await env.send(.GET, "/api/v1/enrollment-tokens?state=pending", token: admin)
            #expect(pending.json["items"].map { if case .array(let a) = $0 { a.count } else { -1 } } == 1)
            #expect(pending.json["items"]?[0]?["device"] == "cam-2")
            #expect(!pending.text.contains("aaaa"), "token hashes are not shown")
            #expect(try await env.send(.GET, "/api/v1/enrollment-tokens?device=meter-1", token: admin).json["items"]?[0]?["usedSerial"] == "0a")

            let cameraGone = try await env.send(.POST, "/api/v1/devices/cam-2/decommission", token: admin)
            #expect(cameraGone.json["certificateExpiresAt"] == .null)
            #expect(try await env.psql("SELECT string_agg(serial, ',' ORDER BY serial) FROM certificates WHERE revoked_at IS NOT NULL") == "0a,0b,0c")
            #expect(try await env.psql("SELECT revoked_at FROM certificates WHERE serial = '0b'").hasPrefix("2026-01-25"), "an earlier revocation keeps its time")
            let crl = try await runTool("/usr/bin/openssl", ["crl", "-in", env.crlFile, "-noout", "-text"])
            #expect(["0A", "0B", "0C"].allSatisfy { crl.contains("Serial Number: \($0)") }, "decommission publishes the CRL: \(crl)")

            let gone = try await env.send(.POST, "/api/v1/devices/meter-3/decommission", token: admin)
            #expect(gone.status == 200)
            #expect(gone.json["status"] == "decommissioned")
            #expect(try await env.psql("SELECT revoked_at IS NOT NULL AND decommissioned_at IS NOT NULL FROM devices WHERE id = 'meter-3'") == "t")
            #expect(try await ids("?status=decommissioned") == ["cam-2", "meter-3"])
            #expect(try await ids("?status=offline") == [])
            try await env.psql("UPDATE devices SET revoked_at = now() WHERE id = 'meter-1'")
            let counts = try await env.send(.GET, "/api/v1/device-counts", token: operatorKey)
            #expect(counts.status == 200, "\(counts.text)")
            #expect(counts.json == ["total": 5, "online": 1, "offline": 0, "unknown": 1, "revoked": 1, "decommissioned": 2],
                    "each device once, where ?status= lists it")
            for status in ["online", "unknown", "revoked", "decommissioned"] {
                #expect(try await ids("?status=\(status)").count == counts.json[status]?.intValue, "\(status)")
            }
            #expect(try await env.send(.GET, "/api/v1/device-counts?status=online", token: admin).status == 400)

            let audit = try await env.send(.GET, "/api/v1/audit?action=device.patch", token: admin)
            guard case .array(let entries)? = audit.json["items"] else { Issue.record("no audit items"); return }
            #expect(entries.count == 2)
            #expect(entries.first?["target"] == "device:cam-1")
            #expect(entries.first?["actor"]?.stringValue == String(operatorKey.split(separator: "_")[1]))
            #expect(entries.first?["details"]?["actorKind"] == "api_key")
            #expect(entries.first?["details"]?["fields"] == "name")
            #expect(entries.first?["details"]?["sourceIp"] == "127.0.0.1")
            #expect(entries.first?["details"]?["requestId"]?.stringValue?.isEmpty == false)
            let decommissions = try await env.send(.GET, "/api/v1/audit?action=device.decommission", token: admin)
            #expect(decommissions.json["items"]?[0]?["target"] == "device:meter-3")
            #expect(decommissions.json["items"]?[1]?["target"] == "device:cam-2")
            #expect(decommissions.json["items"]?[1]?["details"]?["serials"]?.stringValue?.split(separator: ",").sorted() == ["0a", "0c"],
                    "only the certificates not revoked before")
        }
    }

    /// `GET /devices` runs ``DevicesStore/ListStatement`` prepared on each connection, so after
    /// five executions PostgreSQL may run it with a generic plan, in which no NULL-able predicate
    /// is folded away. Both plan modes must select the same rows, and a page after a cursor must
    /// start at the cursor in the id index rather than scan from the first id.
    @Test("the list's prepared statement: a generic plan starts a page at its cursor and selects what a custom plan selects")
    func listStatementPlans() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id, kind, name, tags, status)
                SELECT 'dev-' || lpad(i::text, 5, '0'), CASE WHEN i % 3 = 0 THEN 'camera' ELSE 'meter' END, 'Device ' || i,
                       CASE WHEN i % 2 = 0 THEN '{site:north}'::text[] ELSE '{}'::text[] END,
                       CASE WHEN i % 5 = 0 THEN 'offline' ELSE 'online' END
                FROM generate_series(1, 5000) i;
                UPDATE devices SET revoked_at = now() WHERE id IN ('dev-00007', 'dev-00014');
                UPDATE devices SET decommissioned_at = now(), revoked_at = now() WHERE id = 'dev-00021';
                ANALYZE devices
                """)
            func execute(_ mode: String, _ arguments: String, explain: Bool = false) async throws -> [String] {
                let output = try await env.psql("""
                    SET plan_cache_mode = \(mode);
                    PREPARE list(text, text, bool, bool, text, text, text, bigint) AS \(DevicesStore.ListStatement.sql);
                    \(explain ? "EXPLAIN (COSTS OFF) " : "")EXECUTE list(\(arguments))
                    """)
                return output.split(separator: "\n").map(String.init).filter { $0 != "SET" && $0 != "PREPARE" }
            }
            let plan = try await execute("force_generic_plan", "NULL, NULL, false, false, NULL, NULL, 'dev-04000', 100", explain: true)
            #expect(plan.contains { $0.contains("Index Cond: (id > COALESCE($7") }, "\(plan.joined(separator: "\n"))")

            let cases: [(arguments: String, rows: Int, first: String)] = [
                ("NULL, NULL, false, false, NULL, NULL, NULL, 100", 100, "dev-00001"),
                ("'camera', NULL, false, false, NULL, NULL, 'dev-02000', 50", 50, "dev-02001"),
                ("NULL, 'offline', false, false, 'site:north', NULL, NULL, 100", 100, "dev-00010"),
                ("NULL, NULL, true, false, NULL, NULL, NULL, 100", 1, "dev-00021"),
                ("NULL, NULL, false, true, NULL, NULL, NULL, 100", 2, "dev-00007"),
                ("NULL, NULL, false, false, NULL, '%device 499%', 'dev-04990', 100", 9, "dev-04991"),
                ("NULL, NULL, false, false, NULL, NULL, 'dev-04999', 100", 1, "dev-05000"),
            ]
            for (arguments, rows, first) in cases {
                let generic = try await execute("force_generic_plan", arguments)
                let custom = try await execute("force_custom_plan", arguments)
                #expect(generic == custom, "\(arguments)")
                #expect(generic.count == rows, "\(arguments)")
                #expect(generic.first?.hasPrefix(first + "|") == true, "\(arguments): \(generic.first ?? "none")")
            }
        }
    }

    struct BadInput: CustomStringConvertible {
        let method: HTTPMethod
        let path: String
        var body: Data? = nil
        var contentType: String? = "application/json"
        let status: Int
        let code: String
        var description: String { "\(method) \(path) \(body.map { String(decoding: $0.prefix(60), as: UTF8.self) } ?? "")" }
    }

    static let injections = ["' OR 1=1 --", "\"; DROP TABLE devices; --", "%' OR '1'='1", "\\", "$$", "\u{0}", "../../etc/passwd",
                             "<script>alert(1)</script>", "{{7*7}}", "%00", String(repeating: "A", count: 5000)]

    static var badInputs: [BadInput] {
        var table: [BadInput] = []
        for injection in injections {
            let encoded = injection.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            for parameter in ["kind", "status", "tag", "cursor", "limit"] {
                // U+0000 is refused in any query parameter before the parameter itself is read.
                let code = parameter == "cursor" && !injection.contains("\u{0}") ? "invalid_cursor" : "invalid_parameter"
                table.append(BadInput(method: .GET, path: "/api/v1/devices?\(parameter)=\(encoded)", status: 400, code: code))
            }
            if injection.count > 100 || injection.contains("\u{0}") {
                table.append(BadInput(method: .GET, path: "/api/v1/devices?q=\(encoded)", status: 400, code: "invalid_parameter"))
            }
            table.append(BadInput(method: .GET, path: "/api/v1/audit?action=\(encoded)", status: 400, code: "invalid_parameter"))
            table.append(BadInput(method: .GET, path: "/api/v1/devices/\(encoded)", status: 404, code: "not_found"))
        }
        let json = { (text: String) in Data(text.utf8) }
        table += [
            BadInput(method: .GET, path: "/api/v1/devices?limit=100000000000000000000", status: 400, code: "invalid_parameter"),
            BadInput(method: .GET, path: "/api/v1/devices?limit=501", status: 400, code: "invalid_parameter"),
            BadInput(method: .GET, path: "/api/v1/devices?limit=0", status: 400, code: "invalid_parameter"),
            BadInput(method: .GET, path: "/api/v1/devices?limit=-1", status: 400, code: "invalid_parameter"),
            BadInput(method: .GET, path: "/api/v1/audit?limit=1e9", status: 400, code: "invalid_parameter"),
            BadInput(method: .GET, path: "/api/v1/devices?cursor=eyJrIjoxfQ", status: 400, code: "invalid_cursor"),
            BadInput(method: .GET, path: "/api/v1/devices?cursor=eyJrIjoiQUJDIn0", status: 400, code: "invalid_cursor"),
            BadInput(method: .GET, path: "/api/v1/audit?cursor=eyJrIjoiYSJ9", status: 400, code: "invalid_cursor"),
            BadInput(method: .GET, path: "/api/v1/devices?colour=red", status: 400, code: "unknown_parameter"),
            BadInput(method: .GET, path: "/api/v1/devices?kind=meter&kind=camera", status: 400, code: "invalid_parameter"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"name":"x"}"#), contentType: "text/plain",
                     status: 415, code: "unsupported_media_type"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"name=x"#), contentType: "application/x-www-form-urlencoded",
                     status: 415, code: "unsupported_media_type"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"name":"x""#), status: 400, code: "invalid_json"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"[1,2]"#), status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{}"#), status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"name":5}"#), status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"tags":["UPPER"]}"#), status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"metadata":[1]}"#), status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: json(#"{"name":"\#(String(repeating: "n", count: 101))"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .PATCH, path: "/api/v1/devices/cam-1", body: Data(repeating: 0x20, count: 20_000), status: 413, code: "body_too_large"),
            BadInput(method: .POST, path: "/api/v1/users", body: json(#"{"username":"Bad Name","password":"long enough password","role":"viewer"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .POST, path: "/api/v1/users", body: json(#"{"username":"ok","password":"short","role":"viewer"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .POST, path: "/api/v1/users", body: json(#"{"username":"ok","password":"long enough password","role":"root"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .POST, path: "/api/v1/users", body: json(#"{"username":"ok","password":"long enough password","role":"admin","isAdmin":true}"#),
                     status: 422, code: "read_only_field"),
            BadInput(method: .POST, path: "/api/v1/api-keys", body: json(#"{"name":"k","role":"viewer","expiresAt":"2000-01-01T00:00:00Z"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .POST, path: "/api/v1/api-keys", body: json(#"{"name":"k","role":"viewer","expiresAt":"tomorrow"}"#),
                     status: 422, code: "validation_failed"),
            BadInput(method: .DELETE, path: "/api/v1/api-keys/'%20OR%201=1", status: 404, code: "not_found"),
        ]
        return table
    }

    @Test("a table of bad inputs gets the right 4xx code, never a 5xx")
    func badInput() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("INSERT INTO devices (id, name) VALUES ('cam-1', 'Gate')")
            let admin = try await env.createAPIKey(role: .admin)
            for input in Self.badInputs {
                let reply = try await env.send(input.method, input.path, token: admin, rawBody: input.body, contentType: input.contentType)
                #expect(reply.status == input.status, "\(input): \(reply.status) \(reply.text.prefix(200))")
                #expect(reply.errorCode == input.code, "\(input): \(reply.text.prefix(200))")
            }
            #expect(try await env.psql("SELECT count(*) || name FROM devices GROUP BY name") == "1Gate")
            #expect(Self.badInputs.count > 100)
        }
    }
}
