import Crypto
import Foundation
import NIOHTTP1
import OutpostSupport
import OutpostWire
import Testing
@testable import OutpostAggregator

@Suite("Admin API authorization matrix", .serialized, .timeLimit(.minutes(5)))
struct AuthorizationMatrixTests {
    enum Caller: CustomStringConvertible, CaseIterable {
        case user(Role), apiKey(Role), anonymous, expiredToken, tamperedToken

        static var allCases: [Caller] {
            Role.allCases.map { .user($0) } + Role.allCases.map { .apiKey($0) } + [.anonymous, .expiredToken, .tamperedToken]
        }

        var description: String {
            switch self {
            case .user(let role): "user:\(role)"
            case .apiKey(let role): "api-key:\(role)"
            case .anonymous: "anonymous"
            case .expiredToken: "expired-token"
            case .tamperedToken: "tampered-token"
            }
        }

        var role: Role? {
            switch self {
            case .user(let role), .apiKey(let role): role
            default: nil
            }
        }
    }

    @Test("every route × every kind of caller: 2xx exactly when the table allows it, 401/403 otherwise")
    func matrix() async throws {
        try await APITestEnvironment.with { env in
            var credentials: [String: String] = [:]
            for role in Role.allCases {
                try await env.createUser("matrix-\(role)", role: role)
                credentials["user:\(role)"] = try await env.login("matrix-\(role)").access
                credentials["api-key:\(role)"] = try await env.createAPIKey(role: role)
            }
            credentials["expired-token"] = try await expiredAdminToken(env)
            credentials["tampered-token"] = try tampered(credentials["user:viewer"]!)
            // Password changes put the callers' passwords back afterwards, so the next caller's current password is right.
            try await env.psql("CREATE TABLE matrix_passwords AS SELECT id, password_hash FROM api_users")

            var fixture = 0
            var checked = 0
            for rule in AccessPolicy.rules {
                for caller in Caller.allCases {
                    fixture += 1
                    let (path, body) = try await request(for: rule, fixture: fixture, env: env)
                    let reply: APITestEnvironment.Reply
                    if rule.path == "/events" {
                        reply = try await env.open(path, token: credentials[caller.description]).reply
                    } else {
                        reply = try await env.send(HTTPMethod(rawValue: rule.method.rawValue), path,
                                                   token: credentials[caller.description], json: body)
                    }
                    let expected: ClosedRange<Int>
                    switch caller {
                    case .expiredToken, .tamperedToken:
                        expected = 401...401
                    case .anonymous:
                        expected = rule.minimumRole == nil ? 200...299 : 401...401
                    case .user:
                        if let minimum = rule.minimumRole, caller.role! < minimum {
                            expected = 403...403
                        } else if Self.isLiveView(rule) {
                            // This environment runs no Janus: past the role check, live view says it is off.
                            expected = 503...503
                        } else {
                            expected = 200...299
                        }
                    case .apiKey:
                        if let minimum = rule.minimumRole, caller.role! < minimum || rule.usersOnly {
                            expected = 403...403
                        } else if Self.isLiveView(rule) {
                            expected = 503...503
                        } else {
                            expected = 200...299
                        }
                    }
                    if rule.path == "/me/password" {
                        try await env.psql("UPDATE api_users u SET password_hash = m.password_hash FROM matrix_passwords m WHERE m.id = u.id")
                    }
                    #expect(expected.contains(reply.status), "\(rule) as \(caller): \(reply.status) \(reply.text)")
                    if case .expiredToken = caller { #expect(reply.errorCode == "token_expired", "\(rule)") }
                    if reply.status == 503 { #expect(reply.errorCode == "live_unavailable", "\(rule)") }
                    checked += 1
                }
            }
            #expect(checked == AccessPolicy.rules.count * Caller.allCases.count)
        }
    }

    static func isLiveView(_ rule: AccessPolicy.Rule) -> Bool { rule.path.hasPrefix("/live/") || rule.path.hasSuffix("/live") }

    /// An admin token past its expiry, signed with the server's real key.
    private func expiredAdminToken(_ env: APITestEnvironment) async throws -> String {
        let row = try await env.psql("SELECT kid || ' ' || encode(private_key, 'hex') FROM api_signing_keys LIMIT 1").split(separator: " ")
        let raw = stride(from: 0, to: row[1].count, by: 2).map { offset -> UInt8 in
            let start = row[1].index(row[1].startIndex, offsetBy: offset)
            return UInt8(row[1][start..<row[1].index(start, offsetBy: 2)], radix: 16)!
        }
        let key = try P256.Signing.PrivateKey(rawRepresentation: raw)
        let issued = Int64(Date().timeIntervalSince1970) - 3600
        let claims = AccessTokenClaims(iss: AccessTokenClaims.issuer, aud: AccessTokenClaims.audience, sub: UUID().uuidString,
                                       name: "ghost", role: .admin, iat: issued, exp: issued + 900, jti: "x")
        return try AccessToken.sign(claims, key: key, kid: String(row[0]))
    }

    /// A viewer token whose payload was edited to say admin; the signature no longer matches.
    private func tampered(_ token: String) throws -> String {
        let parts = token.split(separator: ".").map(String.init)
        var claims = try JSONDecoder().decode(AccessTokenClaims.self, from: Base64URL.decode(Substring(parts[1]))!)
        claims.role = .admin
        return "\(parts[0]).\(Base64URL.encode(try JSONEncoder().encode(claims))).\(parts[2])"
    }

    /// A request that succeeds for an allowed caller: fresh fixtures per call, so
    /// one-shot operations (revoke, decommission, refresh) have something to act on.
    private func request(for rule: AccessPolicy.Rule, fixture: Int, env: APITestEnvironment) async throws -> (String, JSONValue?) {
        let device = "matrix-device-\(fixture)"
        switch (rule.method, rule.path) {
        case (.get, "/openapi.json"), (.get, "/me"), (.get, "/users"), (.get, "/api-keys"), (.get, "/devices"), (.get, "/device-counts"), (.get, "/audit"),
             (.get, "/events"), (.get, "/enrollment-tokens"), (.get, "/rejected-messages"):
            return ("/api/v1\(rule.path)", nil)
        case (.post, "/auth/login"):
            return ("/api/v1/auth/login", ["username": "matrix-viewer", "password": "correct horse battery"])
        case (.post, "/auth/refresh"), (.post, "/auth/logout"):
            return ("/api/v1\(rule.path)", ["refreshToken": .string(try await env.login("matrix-viewer").refresh)])
        case (.post, "/users"):
            return ("/api/v1/users", ["username": .string("made-\(fixture)"), "password": "another long password", "role": "viewer"])
        case (.post, "/me/password"):
            return ("/api/v1/me/password", ["currentPassword": "correct horse battery", "newPassword": .string("a new password \(fixture)")])
        case (.post, "/users/{username}/password-reset"):
            try await env.createUser("reset-\(fixture)", role: .viewer)
            return ("/api/v1/users/reset-\(fixture)/password-reset", nil)
        case (.patch, "/users/{username}"):
            try await env.createUser("victim-\(fixture)", role: .viewer)
            return ("/api/v1/users/victim-\(fixture)", ["role": "operator"])
        case (.post, "/api-keys"):
            return ("/api/v1/api-keys", ["name": "automation", "role": "viewer",
                                         "expiresAt": .string(APIJSON.timestamp(Date().addingTimeInterval(3600)))])
        case (.delete, "/api-keys/{id}"):
            let secret = try await env.createAPIKey(role: .viewer)
            return ("/api/v1/api-keys/\(secret.split(separator: "_")[1])", nil)
        case (.get, "/devices/{id}"), (.patch, "/devices/{id}"), (.post, "/devices/{id}/decommission"), (.get, "/devices/{id}/readings"),
             (.get, "/devices/{id}/readings/latest"), (.get, "/devices/{id}/readings/export"), (.get, "/devices/{id}/commands"),
             (.post, "/devices/{id}/commands"), (.get, "/devices/{id}/certificates"), (.get, "/devices/{id}/events"),
             (.get, "/devices/{id}/broker"), (.put, "/devices/{id}/broker"):
            try await env.psql("""
                INSERT INTO devices (id) VALUES ('\(device)');
                INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES ('\(device)', 1, 1, now() - interval '1 minute', 'power_w', 5)
                """)
            let path = "/api/v1" + rule.path.replacingOccurrences(of: "{id}", with: device)
            switch rule.path {
            case "/devices/{id}/readings": return (path + "?metric=power_w&bucket=1m", nil)
            case "/devices/{id}/readings/export": return (path + "?from=2020-01-01T00:00:00Z&format=csv", nil)
            case "/devices/{id}/commands" where rule.method == .post: return (path, ["name": "ping"])
            case "/devices/{id}/broker" where rule.method == .put: return (path, ["broker": "default"])
            default: return (path, rule.method == .patch ? ["name": .string("Meter \(fixture)")] : nil)
            }
        case (.post, "/devices/{id}/streams/start"), (.post, "/devices/{id}/streams/stop"):
            try await env.psql("INSERT INTO devices (id, kind, status) VALUES ('\(device)', 'camera', 'online')")
            return ("/api/v1" + rule.path.replacingOccurrences(of: "{id}", with: device) + "?wait=1", .object([:]))
        case (.post, "/devices/{id}/live"), (.get, "/devices/{id}/live"), (.delete, "/devices/{id}/live"):
            try await env.psql("INSERT INTO devices (id, kind) VALUES ('\(device)', 'camera')")
            return ("/api/v1/devices/\(device)/live", rule.method == .post ? .object([:]) : nil)
        case (.post, "/live/janus"), (.post, "/live/janus/{session}"), (.post, "/live/janus/{session}/{handle}"), (.get, "/live/janus/{session}"):
            let path = "/api/v1" + rule.path.replacingOccurrences(of: "{session}", with: "1").replacingOccurrences(of: "{handle}", with: "2")
            return (path, rule.method == .post ? ["janus": "keepalive"] : nil)
        case (.get, "/devices/{id}/recordings"), (.delete, "/devices/{id}/recordings"), (.get, "/devices/{id}/recording"),
             (.put, "/devices/{id}/recording"), (.get, "/recording-storage"), (.delete, "/recordings/{id}"), (.get, "/recordings/{id}/video"),
             (.get, "/recordings/{id}/thumbnail"):
            let id = try await RecordingFixtures.insertSegment(device: device, env: env)
            let path = "/api/v1" + rule.path.replacingOccurrences(of: "{id}", with: rule.path.hasPrefix("/recordings/") ? "\(id)" : device)
            switch (rule.method, rule.path) {
            case (.delete, "/devices/{id}/recordings"): return (path + "?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", nil)
            case (.put, _): return (path, ["mode": "continuous", "quotaBytes": 10_485_760])
            default: return (path, nil)
            }
        case (.post, "/enrollment-tokens"):
            return ("/api/v1/enrollment-tokens", ["device": .string(device), "kind": "meter", "ttlSeconds": 600])
        case (.delete, "/enrollment-tokens/{id}"):
            let hash = String(format: "%064x", fixture)
            try await env.enrollmentTokens.createToken(hash: hash, device: device, kind: "meter", expiresAt: Date().addingTimeInterval(600))
            return ("/api/v1/enrollment-tokens/\(hash)", nil)
        case (.post, "/devices/{id}/certificates/revoke"):
            try await env.psql("INSERT INTO devices (id) VALUES ('\(device)')")
            return ("/api/v1/devices/\(device)/certificates/revoke", nil)
        case (.get, "/commands/{id}"):
            try await env.psql("""
                INSERT INTO devices (id) VALUES ('\(device)');
                INSERT INTO commands (id, device, name, created_by, expires_at) VALUES ('c\(fixture)', '\(device)', 'ping', 'test', now())
                """)
            return ("/api/v1/commands/c\(fixture)", nil)
        default:
            Issue.record("no fixture for \(rule); add one")
            return ("/api/v1\(rule.path)", nil)
        }
    }
}
