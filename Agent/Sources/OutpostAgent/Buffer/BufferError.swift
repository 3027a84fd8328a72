/// A failure of the on-disk reading buffer, with a stable code.
public struct BufferError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be opened or created.
        public static let openFailed = Code("open_failed")
        /// The file is not a database or failed its integrity check.
        public static let corrupt = Code("corrupt")
        /// The disk is full.
        public static let diskFull = Code("disk_full")
        /// An I/O error from the operating system.
        public static let io = Code("io")
        /// Any other SQLite error.
        public static let sqlite = Code("sqlite")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }
    public static func == (lhs: BufferError, rhs: BufferError) -> Bool { lhs.code == rhs.code }
}
