import Foundation
import Testing
import TestHarness
@testable import OutpostAggregator

@Suite("outpost-aggregator user create", .serialized, .timeLimit(.minutes(3)))
struct UserCommandTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/outpost-aggregator").path

    @Test("the CLI makes the first admin, prints the password once, audits it, and refuses a duplicate")
    func createFirstAdmin() async throws {
        try await APITestEnvironment.with { env in
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let config = directory.file("aggregator.json")
            try """
                {"instance_id": "a1",
                 "mqtt": {"ca_file": "/nonexistent/ca.pem", "cert_file": "/nonexistent/c.pem", "key_file": "/nonexistent/c.key"},
                 "postgres": {"host": "127.0.0.1", "port": \(env.postgres.port), "username": "\(env.postgres.user)", "database": "\(env.postgres.database)"},
                 "http": {"cert_file": "/nonexistent/s.pem", "key_file": "/nonexistent/s.key"},
                 "api": {"bcrypt_cost": 4}}
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let output = try await runTool(Self.binary, ["user", "create", "--config", config, "--username", "root-admin", "--role", "admin"],
                                     environment: ["USER": "ops", "PATH": "/usr/bin:/bin"])
            let line = output.split(separator: "\n").first { $0.hasPrefix("password (shown once): ") }
            let password = try #require(line.map { String($0.dropFirst("password (shown once): ".count)) })
            #expect(password.count >= 24)
            let tokens = try await env.login("root-admin", password: password)
            #expect(try await env.send(.GET, "/api/v1/me", token: tokens.access).json["role"] == "admin")
            #expect(try await env.psql("SELECT actor || ' ' || action || ' ' || target FROM audit_log WHERE action = 'user.create'")
                    == "cli:ops user.create user:root-admin")
            #expect(try await env.psql("SELECT password_hash LIKE '$2b$04$%' FROM api_users WHERE username = 'root-admin'") == "t")
            await #expect(throws: (any Error).self) {
                try await runTool(Self.binary, ["user", "create", "--config", config, "--username", "root-admin", "--role", "viewer"])
            }
            await #expect(throws: (any Error).self) {
                try await runTool(Self.binary, ["user", "create", "--config", config, "--username", "x", "--role", "superuser"])
            }
        }
    }
}
