/// What a user or API key may do. Each role includes everything below it:
/// a viewer reads, an operator also changes devices and sends commands, an admin also
/// manages users, keys, enrollment, certificates and reads the audit log.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// An authenticated caller: a user (by access token) or an API key.
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable { case user, apiKey = "api_key", cli }

    public let kind: Kind
    /// The user id or API key id.
    public let id: String
    /// A readable name for the audit log: the username, or the key's name.
    public let name: String
    public let role: Role
    /// A user signed in with a one-time password: only `/me`, `/me/password` and `/auth/*` answer.
    public let mustChangePassword: Bool

    public init(kind: Kind, id: String, name: String, role: Role, mustChangePassword: Bool = false) {
        self.kind = kind
        self.id = id
        self.name = name
        self.role = role
        self.mustChangePassword = mustChangePassword
    }
}
