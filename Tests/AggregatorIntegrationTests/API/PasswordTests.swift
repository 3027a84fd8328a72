import Foundation
import Testing
@testable import OutpostAggregator

@Suite("Admin API passwords: change, reset, one-time passwords", .serialized, .timeLimit(.minutes(5)))
struct PasswordTests {
    @Test("a user changes their own password: 204, old refresh tokens revoked, the new one logs in, wrong current is 401, audited")
    func change() async throws {
        try await APITestEnvironment.with { env in
            try await env.createUser("ann", role: .viewer)
            let session = try await env.login("ann")
            let wrong = try await env.send(.POST, "/api/v1/me/password", token: session.access,
                                           json: ["currentPassword": "not my password", "newPassword": "a fresh password"])
            #expect(wrong.status == 401)
            #expect(wrong.errorCode == "invalid_credentials")
            let short = try await env.send(.POST, "/api/v1/me/password", token: session.access,
                                           json: ["currentPassword": "correct horse battery", "newPassword": "short"])
            #expect(short.status == 422)
            // 12 characters of 2 bytes each: the limits count characters, as the document says.
            let changed = try await env.send(.POST, "/api/v1/me/password", token: session.access,
                                             json: ["currentPassword": "correct horse battery", "newPassword": "éééééééééééé"])
            #expect(changed.status == 204, "\(changed.text)")
            let refreshed = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(session.refresh)])
            #expect(refreshed.status == 401)
            #expect(refreshed.errorCode == "invalid_token")
            let old = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "ann", "password": "correct horse battery"])
            #expect(old.status == 401)
            let fresh = try await env.login("ann", password: "éééééééééééé")
            #expect(!fresh.access.isEmpty)

            let key = try await env.createAPIKey(role: .admin)
            let byKey = try await env.send(.POST, "/api/v1/me/password", token: key,
                                           json: ["currentPassword": "correct horse battery", "newPassword": "a fresh password"])
            #expect(byKey.status == 403)
            #expect(byKey.errorCode == "forbidden")
            #expect(try await env.psql("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'user.password%'")
                    == "user.password_change_failed,user.password_change")
        }
    }

    @Test("an admin's reset gives a one-time password; until it is changed only /me, /me/password and /auth/* answer")
    func reset() async throws {
        try await APITestEnvironment.with { env in
            try await env.createUser("root", role: .admin)
            try await env.createUser("bob", role: .operator)
            let admin = try await env.login("root")
            let bobsOldSession = try await env.login("bob")
            #expect(try await env.send(.POST, "/api/v1/users/nobody/password-reset", token: admin.access).status == 404)
            let ownReset = try await env.send(.POST, "/api/v1/users/root/password-reset", token: admin.access)
            #expect(ownReset.status == 409)
            let operatorReset = try await env.send(.POST, "/api/v1/users/root/password-reset", token: bobsOldSession.access)
            #expect(operatorReset.status == 403)

            let reset = try await env.send(.POST, "/api/v1/users/bob/password-reset", token: admin.access)
            #expect(reset.status == 200)
            let oneTime = try #require(reset.json["oneTimePassword"]?.stringValue)
            #expect(oneTime.count >= 20)
            let stale = try await env.send(.POST, "/api/v1/auth/refresh", json: ["refreshToken": .string(bobsOldSession.refresh)])
            #expect(stale.status == 401, "the reset revokes the user's refresh tokens")

            let login = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "bob", "password": .string(oneTime)])
            #expect(login.status == 200)
            #expect(login.json["mustChangePassword"] == true)
            let access = try #require(login.json["accessToken"]?.stringValue)
            let blocked = try await env.send(.GET, "/api/v1/devices", token: access)
            #expect(blocked.status == 403)
            #expect(blocked.errorCode == "password_change_required")
            let me = try await env.send(.GET, "/api/v1/me", token: access)
            #expect(me.status == 200)
            #expect(me.json["mustChangePassword"] == true)
            let users = try await env.send(.GET, "/api/v1/users", token: admin.access)
            guard case .array(let listed)? = users.json["items"] else { Issue.record("no users: \(users.text)"); return }
            #expect(listed.first { $0["username"] == "bob" }?["mustChangePassword"] == true)

            let changed = try await env.send(.POST, "/api/v1/me/password", token: access,
                                             json: ["currentPassword": .string(oneTime), "newPassword": "bob's own password"])
            #expect(changed.status == 204, "\(changed.text)")
            let again = try await env.send(.POST, "/api/v1/auth/login", json: ["username": "bob", "password": "bob's own password"])
            #expect(again.json["mustChangePassword"] == false)
            let devices = try await env.send(.GET, "/api/v1/devices", token: try #require(again.json["accessToken"]?.stringValue))
            #expect(devices.status == 200)
            #expect(try await env.psql("SELECT string_agg(action || ' ' || target, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'user.password%'")
                    == "user.password_reset user:bob,user.password_change user:bob")
            #expect(metricValue(env.metrics.render(), "outpost_api_errors_total", ["code": "password_change_required"]) == 1)
        }
    }

    @Test("long passwords hash whole: two that share their first 72 bytes are different passwords")
    func longPasswords() {
        let first = String(repeating: "é", count: 40) + "a"
        let second = String(repeating: "é", count: 40) + "b"
        #expect(UsersStore.passwordProblem(first) == nil)
        #expect(UsersStore.bcryptInput(first) != UsersStore.bcryptInput(second))
        #expect(UsersStore.bcryptInput("short enough password") == "short enough password")
        #expect(UsersStore.passwordProblem(String(repeating: "é", count: 73)) != nil)
    }
}
