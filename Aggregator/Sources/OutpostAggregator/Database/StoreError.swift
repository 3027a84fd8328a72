/// A failure of the aggregator's PostgreSQL store, with a stable code.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let migrationsUnreadable = Code("migrations_unreadable")
        public static let migrationFailed = Code("migration_failed")
        public static let unavailable = Code("database_unavailable")
        public static let conflict = Code("conflict")
        public static let notFound = Code("not_found")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
}
