import Foundation
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("Admin API sessions and cross-cutting behaviour", .serialized, .timeLimit(.minutes(5)))
struct SessionTests {
    @Test("refresh rotates; replaying a spent token revokes the family; logout revokes; API keys expire and revoke")
    func refreshRotationAndReuse() async throws {
        try await APITestEnvironment.with { env in
            try await env.createUser("ann", role: .operator)
            let first = try await env.login("ann")
            #expect(try await env.send(.GET, "/api/v1/me", token: first.access).json["role"] == "operator")

            let rotated = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(first.refresh)])
            #expect(rotated.status == 200)
            let second = rotated.json["refreshToken"]!.stringValue!
            #expect(second != first.refresh)
            #expect(try await env.send(.GET, "/api/v1/me", token: rotated.json["accessToken"]!.stringValue!).status == 200)
            let third = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(second)])
            #expect(third.status == 200)
            let live = third.json["refreshToken"]!.stringValue!

            let replay = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(first.refresh)])
            #expect(replay.status == 401)
            #expect(replay.errorCode == "refresh_token_reused")
            let afterRevocation = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(live)])
            #expect(afterRevocation.status == 401)
            #expect(afterRevocation.errorCode == "invalid_token", "the family, including the newest token, is revoked")
            #expect(try await env.psql("SELECT count(*) FROM api_refresh_tokens WHERE revoked_at IS NULL") == "0")

            let other = try await env.login("ann")
            #expect(try await env.send(.POST, "/api/v1/auth/logout", json: ["refreshToken": .string(other.refresh)]).status == 204)
            let loggedOut = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(other.refresh)])
            #expect(loggedOut.status == 401)
            #expect(loggedOut.errorCode == "invalid_token")
            #expect(try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": "never-issued"]).errorCode == "invalid_token")

            let wrong = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "ann", "password": "not the password"])
            #expect(wrong.status == 401)
            #expect(wrong.errorCode == "invalid_credentials")
            let nobody = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "nobody", "password": "not the password"])
            #expect(nobody.errorCode == "invalid_credentials")

            let admin = try await env.createAPIKey(role: .admin)
            let session = try await env.login("ann")
            let demoted = try await env.send(.PATCH, "/api/v1/users/ann", token: admin, json: ["role": "viewer"])
            #expect(demoted.json["role"] == "viewer")
            #expect(try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(session.refresh)]).errorCode
                    == "invalid_token", "a role change ends the user's sessions")
            #expect(try await env.send(.GET, "/api/v1/me", token: try await env.login("ann").access).json["role"] == "viewer")
            #expect(try await env.send(.PATCH, "/api/v1/users/ann", token: admin, json: ["disabled": true]).json["disabled"] == true)
            #expect(try await env.send(.POST, "/api/v1/auth/login", json: ["username": "ann", "password": "correct horse battery"]).errorCode
                    == "invalid_credentials")
            #expect(try await env.send(.PATCH, "/api/v1/users/nobody", token: admin, json: ["disabled": true]).status == 404)
            #expect(try await env.send(.PATCH, "/api/v1/users/ann", token: admin, json: ["password": "x"]).errorCode == "read_only_field")

            let actions = try await env.psql("SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM audit_log")
            #expect(actions == "api_key.create,auth.login,auth.login_failed,auth.logout,auth.refresh_reuse,user.create,user.update")

            let made = try await env.send(.POST, "/api/v1/api-keys", token: admin, json: [
                "name": "ci", "role": "viewer", "expiresAt": .string(APIJSON.timestamp(Date().addingTimeInterval(600))),
            ])
            #expect(made.status == 201)
            let secret = made.json["secret"]!.stringValue!
            #expect(try await env.send(.GET, "/api/v1/me", token: secret).json["role"] == "viewer")
            #expect(try await env.send(.GET, "/api/v1/me", headers: [("X-API-Key", secret)]).status == 200)
            let listed = try await env.send(.GET, "/api/v1/api-keys", token: admin)
            #expect(!listed.text.contains(String(secret.split(separator: "_")[2])), "a listing must never show a secret")
            let id = made.json["key"]!["id"]!.stringValue!
            let itself = try await env.send(.DELETE, "/api/v1/api-keys/\(admin.split(separator: "_")[1])", token: admin)
            #expect(itself.status == 409, "a key does not revoke itself")
            #expect(try await env.send(.DELETE, "/api/v1/api-keys/\(id)", token: admin).status == 204)
            #expect(try await env.send(.GET, "/api/v1/me", token: secret).errorCode == "invalid_token")
            try await env.psql("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '\(admin.split(separator: "_")[1])'")
            // Expired behind the API's back (SQL): refused within the key cache's revocation bound (5 s).
            try await waitUntil(timeout: .seconds(20), "the expired key refused") {
                try await env.send(.GET, "/api/v1/me", token: admin).errorCode == "token_expired"
            }
        }
    }

    @Test("login is limited per user and per address, everything per principal; 429 carries Retry-After")
    func rateLimits() async throws {
        var settings = APITestEnvironment.defaultSettings
        settings.loginPerUserPerMinute = 3
        settings.loginPerIpPerMinute = 7
        settings.requestsPerMinute = 40
        try await APITestEnvironment.with(settings: settings) { env in
            try await env.createUser("bob", role: .viewer)
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await env.send(.POST, "/api/v1/auth/login", json: ["username": "bob", "password": "wrong password!"]).status)
            }
            #expect(statuses == [401, 401, 401, 429])
            let limited = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "bob", "password": "correct horse battery"])
            #expect(limited.status == 429)
            #expect(limited.errorCode == "rate_limited")
            #expect(Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
            var perAddress: [Int] = []
            for index in 0..<3 {
                perAddress.append(try await env.send(.POST, "/api/v1/auth/login", json: ["username": .string("x\(index)"), "password": "wrong password!"]).status)
            }
            #expect(perAddress == [401, 401, 429])

            let key = try await env.createAPIKey(role: .viewer)
            var general: [Int] = []
            // 40 a minute refill at 2 every 3 s: 60 calls meet 429 unless they take more than 30 s, even on a busy machine.
            for _ in 0..<60 { general.append(try await env.send(.GET, "/api/v1/me", token: key).status) }
            #expect(general.prefix(40).allSatisfy { $0 == 200 })
            #expect(general.contains(429))
            #expect(general.allSatisfy { $0 == 200 || $0 == 429 })
        }
    }
}
