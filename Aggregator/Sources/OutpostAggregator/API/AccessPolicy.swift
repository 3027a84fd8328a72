import HTTPTypes
import Hummingbird

/// The authorization table: every admin API route and the least role that may call it
/// (`nil` means public). Routes are registered through ``AdminAPI`` from this table only,
/// so the table and the router cannot drift apart, and the authorization matrix test
/// iterates it.
public enum AccessPolicy {
    public struct Rule: Sendable, Hashable, CustomStringConvertible {
        public let method: HTTPRequest.Method
        /// Path below `/api/v1`, with `{name}` parameters.
        public let path: String
        public let minimumRole: Role?
        /// Only a signed-in user may call it (an API key has no password): 403 for keys.
        public let usersOnly: Bool
        /// Answers while the caller must still change a one-time password (see ``passwordChangeExempt``).
        public var passwordChangeExempt: Bool { path == "/me" || path == "/me/password" || path.hasPrefix("/auth/") }

        public init(method: HTTPRequest.Method, path: String, minimumRole: Role?, usersOnly: Bool = false) {
            self.method = method
            self.path = path
            self.minimumRole = minimumRole
            self.usersOnly = usersOnly
        }

        public var description: String { "\(method) /api/v1\(path)" }
        /// The same path in hummingbird's router syntax (`:name`).
        var routerPath: String { path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "") }
    }

    public static let rules: [Rule] = [
        Rule(method: .get, path: "/openapi.json", minimumRole: nil),
        Rule(method: .post, path: "/auth/login", minimumRole: nil),
        Rule(method: .post, path: "/auth/refresh", minimumRole: nil),
        Rule(method: .post, path: "/auth/logout", minimumRole: nil),
        Rule(method: .get, path: "/me", minimumRole: .viewer),
        Rule(method: .post, path: "/me/password", minimumRole: .viewer, usersOnly: true),

        Rule(method: .get, path: "/users", minimumRole: .admin),
        Rule(method: .post, path: "/users", minimumRole: .admin),
        Rule(method: .patch, path: "/users/{username}", minimumRole: .admin),
        Rule(method: .post, path: "/users/{username}/password-reset", minimumRole: .admin),
        Rule(method: .get, path: "/api-keys", minimumRole: .admin),
        Rule(method: .post, path: "/api-keys", minimumRole: .admin),
        Rule(method: .delete, path: "/api-keys/{id}", minimumRole: .admin),

        Rule(method: .get, path: "/devices", minimumRole: .viewer),
        Rule(method: .get, path: "/device-counts", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}", minimumRole: .viewer),
        Rule(method: .patch, path: "/devices/{id}", minimumRole: .operator),
        Rule(method: .post, path: "/devices/{id}/decommission", minimumRole: .admin),
        Rule(method: .get, path: "/devices/{id}/broker", minimumRole: .viewer),
        Rule(method: .put, path: "/devices/{id}/broker", minimumRole: .admin),

        Rule(method: .get, path: "/devices/{id}/readings", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/readings/latest", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/readings/export", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/events", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/commands", minimumRole: .viewer),
        Rule(method: .post, path: "/devices/{id}/commands", minimumRole: .operator),
        Rule(method: .get, path: "/commands/{id}", minimumRole: .viewer),
        Rule(method: .post, path: "/devices/{id}/streams/start", minimumRole: .operator),
        Rule(method: .post, path: "/devices/{id}/streams/stop", minimumRole: .operator),
        Rule(method: .post, path: "/devices/{id}/live", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/live", minimumRole: .viewer),
        Rule(method: .delete, path: "/devices/{id}/live", minimumRole: .operator),
        Rule(method: .post, path: "/live/janus", minimumRole: .viewer),
        Rule(method: .post, path: "/live/janus/{session}", minimumRole: .viewer),
        Rule(method: .get, path: "/live/janus/{session}", minimumRole: .viewer),
        Rule(method: .post, path: "/live/janus/{session}/{handle}", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/recordings", minimumRole: .viewer),
        Rule(method: .delete, path: "/devices/{id}/recordings", minimumRole: .operator),
        Rule(method: .get, path: "/devices/{id}/recording", minimumRole: .viewer),
        Rule(method: .put, path: "/devices/{id}/recording", minimumRole: .operator),
        Rule(method: .get, path: "/recording-storage", minimumRole: .viewer),
        Rule(method: .delete, path: "/recordings/{id}", minimumRole: .operator),
        Rule(method: .get, path: "/recordings/{id}/video", minimumRole: .viewer),
        Rule(method: .get, path: "/recordings/{id}/thumbnail", minimumRole: .viewer),
        Rule(method: .get, path: "/devices/{id}/certificates", minimumRole: .admin),
        Rule(method: .post, path: "/devices/{id}/certificates/revoke", minimumRole: .admin),
        Rule(method: .get, path: "/enrollment-tokens", minimumRole: .admin),
        Rule(method: .post, path: "/enrollment-tokens", minimumRole: .operator),
        Rule(method: .delete, path: "/enrollment-tokens/{id}", minimumRole: .operator),
        Rule(method: .get, path: "/events", minimumRole: .viewer),

        Rule(method: .get, path: "/audit", minimumRole: .admin),
        Rule(method: .get, path: "/rejected-messages", minimumRole: .admin),
    ]

    public static func rule(_ method: HTTPRequest.Method, _ path: String) -> Rule? {
        rules.first { $0.method == method && $0.path == path }
    }

    /// Why `principal` may not call `rule`, or nil when it may: 401 for anonymous callers,
    /// 403 `forbidden` for a role below the minimum or an API key on a users-only route,
    /// 403 `password_change_required` for a user who must first change a one-time password.
    public static func refusal(_ principal: Principal?, _ rule: Rule) -> APIError? {
        guard allows(principal, minimum: rule.minimumRole) else { return principal == nil ? .unauthenticated : .forbidden }
        guard let principal else { return nil }
        if rule.usersOnly, principal.kind != .user {
            return APIError(.forbidden, .forbidden, "only a signed-in user can do this; an API key has no password")
        }
        if principal.mustChangePassword, !rule.passwordChangeExempt {
            return APIError(.forbidden, .passwordChangeRequired, "change your one-time password first (POST /api/v1/me/password)")
        }
        return nil
    }

    /// Whether `principal` may call a route that needs `minimum`.
    public static func allows(_ principal: Principal?, minimum: Role?) -> Bool {
        guard let minimum else { return true }
        guard let principal else { return false }
        return principal.role >= minimum
    }
}
