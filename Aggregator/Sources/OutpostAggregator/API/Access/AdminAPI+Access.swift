import Foundation
import HTTPTypes
import Hummingbird
import OutpostWire

/// Bodies of the identity routes. Each refuses fields it does not know.
struct LoginRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["username", "password"]
    let username: String
    let password: String

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        username = try container.decode(String.self, forKey: AnyKey(stringValue: "username"))
        password = try container.decode(String.self, forKey: AnyKey(stringValue: "password"))
    }
}

struct RefreshRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["refreshToken"]
    let refreshToken: String

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        refreshToken = try decoder.container(keyedBy: AnyKey.self).decode(String.self, forKey: AnyKey(stringValue: "refreshToken"))
        guard (1...128).contains(refreshToken.utf8.count) else { throw APIError.validation("refreshToken has the wrong length") }
    }
}

struct CreateUserRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["username", "password", "role"]
    let username: String
    let password: String
    let role: Role

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        username = try container.decode(String.self, forKey: AnyKey(stringValue: "username"))
        password = try container.decode(String.self, forKey: AnyKey(stringValue: "password"))
        role = try container.decode(Role.self, forKey: AnyKey(stringValue: "role"))
    }
}

struct CreateAPIKeyRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["name", "role", "expiresAt"]
    let name: String
    let role: Role
    let expiresAt: Date

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        name = try container.decode(String.self, forKey: AnyKey(stringValue: "name"))
        role = try container.decode(Role.self, forKey: AnyKey(stringValue: "role"))
        expiresAt = try container.decode(Date.self, forKey: AnyKey(stringValue: "expiresAt"))
    }
}

struct UpdateUserRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["role", "disabled"]
    let role: Role?
    let disabled: Bool?

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        role = try container.decodeOptional(Role.self, "role")
        disabled = try container.decodeOptional(Bool.self, "disabled")
        guard role != nil || disabled != nil else { throw APIError.validation("nothing to change: send role or disabled") }
    }
}

struct ChangePasswordRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["currentPassword", "newPassword"]
    let currentPassword: String
    let newPassword: String

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        currentPassword = try container.decode(String.self, forKey: AnyKey(stringValue: "currentPassword"))
        newPassword = try container.decode(String.self, forKey: AnyKey(stringValue: "newPassword"))
    }
}

struct PasswordResetResponse: Encodable, Sendable {
    let oneTimePassword: String
}

struct MeResponse: Encodable, Sendable {
    let kind: String
    let id: String
    let name: String
    let role: Role
    let mustChangePassword: Bool
}

extension AdminAPI {
    func addIdentityRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.post, "/auth/login") { request, context in
            let body = try await request.decodeJSON(LoginRequest.self, limit: settings.maxBodyBytes)
            try await loginIPLimiter.take(context.remoteAddress ?? "unknown").enforce("login attempts from this address")
            try await loginUserLimiter.take(body.username.lowercased()).enforce("login attempts for this user")
            guard body.password.unicodeScalars.count <= UsersStore.maxPasswordCharacters, let user = try await users.authenticate(username: body.username, password: body.password)
            else {
                try await audit.record("auth.login_failed", target: "user:\(body.username.prefix(64))", origin: origin(context))
                throw APIError(.unauthorized, .invalidCredentials, "wrong username or password")
            }
            let tokens = try await sessions.startSession(for: user)
            let principal = Principal(kind: .user, id: user.id, name: user.username, role: user.role)
            try await audit.record("auth.login", target: "user:\(user.username)",
                                   origin: .init(principal: principal, sourceIP: context.remoteAddress, requestID: context.requestID))
            return try .json(tokens)
        }
        on(.post, "/auth/refresh") { request, context in
            let body = try await request.decodeJSON(RefreshRequest.self, limit: settings.maxBodyBytes)
            try await loginIPLimiter.take(context.remoteAddress ?? "unknown").enforce("token refreshes from this address")
            return try .json(try await sessions.refresh(body.refreshToken, origin: origin(context), audit: audit))
        }
        on(.post, "/auth/logout") { request, context in
            let body = try await request.decodeJSON(RefreshRequest.self, limit: settings.maxBodyBytes)
            if let userID = try await sessions.logout(body.refreshToken) {
                try await audit.record("auth.logout", target: "user-id:\(userID)", origin: origin(context))
            }
            return Response(status: .noContent)
        }
        on(.get, "/me") { _, context in
            let principal = context.principal!
            return try .json(MeResponse(kind: principal.kind.rawValue, id: principal.id, name: principal.name, role: principal.role,
                                        mustChangePassword: principal.mustChangePassword))
        }
        on(.post, "/me/password") { request, context in
            let body = try await request.decodeJSON(ChangePasswordRequest.self, limit: settings.maxBodyBytes)
            try await loginUserLimiter.take(context.principal!.name.lowercased()).enforce("password attempts for this user")
            try await users.changePassword(userID: context.principal!.id, current: body.currentPassword, new: body.newPassword,
                                           origin: origin(context), audit: audit)
            return Response(status: .noContent)
        }
        on(.post, "/users/{username}/password-reset") { request, context in
            _ = try request.queryParameters(allowing: [])
            let username = context.parameters.get("username") ?? ""
            if let principal = context.principal, principal.kind == .user, principal.name == username {
                throw APIError(.conflict, .conflict, "change your own password with POST /api/v1/me/password")
            }
            guard let oneTime = try await users.resetPassword(username: username, origin: origin(context), audit: audit)
            else { throw APIError.notFound("user") }
            return try .json(PasswordResetResponse(oneTimePassword: oneTime))
        }
        on(.get, "/users") { request, _ in
            _ = try request.queryParameters(allowing: [])
            return try .json(ItemsResponse(items: try await users.list()))
        }
        on(.post, "/users") { request, context in
            let body = try await request.decodeJSON(CreateUserRequest.self, limit: settings.maxBodyBytes)
            let user = try await users.create(username: body.username, password: body.password, role: body.role,
                                              origin: origin(context), audit: audit)
            return try .json(user, status: .created)
        }
        on(.patch, "/users/{username}") { request, context in
            let body = try await request.decodeJSON(UpdateUserRequest.self, limit: settings.maxBodyBytes)
            let username = context.parameters.get("username") ?? ""
            if let principal = context.principal, principal.kind == .user, principal.name == username {
                throw APIError(.conflict, .conflict, "change your own account through another admin")
            }
            guard let user = try await users.update(username: username, role: body.role, disabled: body.disabled,
                                                    origin: origin(context), audit: audit)
            else { throw APIError.notFound("user") }
            return try .json(user)
        }
        on(.get, "/api-keys") { request, _ in
            _ = try request.queryParameters(allowing: [])
            return try .json(ItemsResponse(items: try await apiKeys.list()))
        }
        on(.post, "/api-keys") { request, context in
            let body = try await request.decodeJSON(CreateAPIKeyRequest.self, limit: settings.maxBodyBytes)
            let created = try await apiKeys.create(name: body.name, role: body.role, expiresAt: body.expiresAt,
                                                   origin: origin(context), audit: audit)
            return try .json(created, status: .created)
        }
        on(.delete, "/api-keys/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            // Like an admin's own account: a key does not revoke itself, so automation cannot lock itself out by mistake.
            if let principal = context.principal, principal.kind == .apiKey, principal.id == id {
                throw APIError(.conflict, .conflict, "a key cannot revoke itself; use another credential")
            }
            guard try await apiKeys.revoke(id: id, origin: origin(context), audit: audit) else { throw APIError.notFound("API key") }
            return Response(status: .noContent)
        }
        on(.get, "/audit") { request, _ in
            let filter = try AuditLog.Filter(try request.queryParameters(allowing: AuditLog.Filter.parameters))
            let entries = try await audit.list(filter)
            let page = Array(entries.prefix(filter.limit))
            let next = entries.count > filter.limit ? page.last.map { Cursor.encode($0.id) } : nil
            return try .json(Page(items: page, nextCursor: next))
        }
        on(.get, "/rejected-messages") { request, _ in
            let query = try request.queryParameters(allowing: ["limit", "cursor", "device"])
            let limit = try QueryValue.limit(query, maximum: 500)
            let before = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: Int64.self) }
            if let device = query["device"], DeviceID(device) == nil {
                throw APIError.invalidParameter("device", "is not a valid device id")
            }
            let entries = try await deadLetters.list(limit: limit + 1, before: before, device: query["device"])
            let page = Array(entries.prefix(limit))
            let next = entries.count > limit ? page.last.map { Cursor.encode($0.id) } : nil
            return try .json(Page(items: page, nextCursor: next))
        }
    }
}
