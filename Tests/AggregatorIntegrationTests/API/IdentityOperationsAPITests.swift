import Foundation
import OutpostAggregator
import OutpostSupport
import OutpostWire
import Testing
import TestHarness

@Suite("Admin API: enrollment tokens and certificate revocation", .serialized, .timeLimit(.minutes(5)))
struct IdentityOperationsAPITests {
    @Test("a created token is stored hashed and consumable; DELETE expires it; revoke sets revoked_at and lists the serial in the CRL")
    func tokensAndRevocation() async throws {
        try await APITestEnvironment.with { env in
            try await env.createUser("ops", role: .operator)
            try await env.createUser("boss", role: .admin)
            let operatorToken = try await env.login("ops").access
            let admin = try await env.login("boss").access

            let created = try await env.send(.POST, "/api/v1/enrollment-tokens", token: operatorToken,
                                             json: ["device": "meter-7", "kind": "camera", "ttlSeconds": 600])
            #expect(created.status == 201)
            let printed = try #require(created.json["token"]?.stringValue)
            let token = try #require(EnrollmentToken(printed))
            let id = try #require(created.json["id"]?.stringValue)
            #expect(EnrollmentService.tokenHash(token) == id)
            #expect(token.device.rawValue == "meter-7")
            #expect(created.json["enrollCommand"]?.stringValue?.hasSuffix("--token \(printed)") == true)
            let record = try #require(try await env.enrollmentTokens.token(hash: id))
            #expect(record.deviceID == "meter-7" && record.kind == "camera" && record.usedAt == nil)
            #expect(try await env.psql("SELECT count(*) FROM enrollment_tokens WHERE token_hash = '\(printed)'").contains("0"))

            let bad = try await env.send(.POST, "/api/v1/enrollment-tokens", token: operatorToken, json: ["device": "Bad_ID", "ttlSeconds": 5])
            #expect(bad.status == 422 && bad.errorCode == "validation_failed")

            #expect(try await env.send(.DELETE, "/api/v1/enrollment-tokens/\(id)", token: operatorToken).status == 204)
            let expired = try #require(try await env.enrollmentTokens.token(hash: id))
            #expect(expired.expiresAt <= Date())
            let unknown = try await env.send(.DELETE, "/api/v1/enrollment-tokens/\(String(repeating: "ab", count: 32))", token: operatorToken)
            #expect(unknown.status == 404)

            let serial = "1a2b3c4d5e6f"
            _ = try await env.psql("""
                INSERT INTO certificates (serial, subject, device_id, purpose, not_before, not_after)
                VALUES ('\(serial)', 'meter-7', 'meter-7', 'device', now() - interval '1 hour', now() + interval '30 days')
                """)
            let revoked = try await env.send(.POST, "/api/v1/devices/meter-7/certificates/revoke", token: admin)
            #expect(revoked.status == 200, "\(revoked.text)")
            #expect(revoked.json["revokedSerials"] == .array([.string(serial)]))
            #expect(try await env.psql("SELECT count(*) FROM certificates WHERE serial = '\(serial)' AND revoked_at IS NOT NULL").contains("1"))
            let crl = try await runTool("/usr/bin/openssl", ["crl", "-in", env.crlFile, "-noout", "-text"])
            #expect(crl.uppercased().contains(serial.uppercased()))
            #expect(try await env.send(.POST, "/api/v1/devices/nobody/certificates/revoke", token: admin).status == 404)
            #expect(try await env.send(.POST, "/api/v1/devices/meter-7/certificates/revoke", token: operatorToken).status == 403)
        }
    }

    @Test("GET /rejected-messages lists dead letters for admins, newest first, by device, paged; viewers are refused")
    func rejectedMessages() async throws {
        try await APITestEnvironment.with { env in
            try await env.createUser("boss", role: .admin)
            try await env.createUser("eye", role: .viewer)
            let admin = try await env.login("boss").access
            let viewer = try await env.login("eye").access
            _ = try await env.psql("""
                INSERT INTO rejected_messages (device, topic, code, sqlstate, excerpt) VALUES
                    ('meter-1', 'outpost/v1/meter-1/telemetry', 'database_refused', '22021', '{"a":1}'),
                    ('meter-2', 'outpost/v1/meter-2/events', 'database_refused', '22P05', '{"b":2}'),
                    ('meter-1', 'outpost/v1/meter-1/state', 'database_refused', '54000', '{"c":3}')
                """)
            func items(_ reply: AdminAPIClient.Reply) -> [JSONValue] {
                if case .array(let items) = reply.json["items"] { return items }
                return []
            }
            let all = try await env.send(.GET, "/api/v1/rejected-messages", token: admin)
            #expect(all.status == 200, "\(all.text)")
            #expect(items(all).map { $0["sqlstate"]?.stringValue } == ["54000", "22P05", "22021"])
            #expect(items(all).first?["topic"]?.stringValue == "outpost/v1/meter-1/state")
            #expect(items(all).first?["excerpt"]?.stringValue == #"{"c":3}"#)

            let mine = try await env.send(.GET, "/api/v1/rejected-messages?device=meter-1", token: admin)
            #expect(items(mine).map { $0["sqlstate"]?.stringValue } == ["54000", "22021"])

            let first = try await env.send(.GET, "/api/v1/rejected-messages?limit=2", token: admin)
            #expect(items(first).count == 2)
            let cursor = try #require(first.json["nextCursor"]?.stringValue)
            let rest = try await env.send(.GET, "/api/v1/rejected-messages?limit=2&cursor=\(cursor)", token: admin)
            #expect(items(rest).map { $0["sqlstate"]?.stringValue } == ["22021"])
            #expect(rest.json["nextCursor"]?.stringValue == nil)

            #expect(try await env.send(.GET, "/api/v1/rejected-messages?device=Bad_ID", token: admin).errorCode == "invalid_parameter")
            #expect(try await env.send(.GET, "/api/v1/rejected-messages", token: viewer).status == 403)
        }
    }
}
