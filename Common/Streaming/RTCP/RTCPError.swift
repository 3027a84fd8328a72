/// Why an RTCP packet was refused. Equality compares the code; tests assert it, counters label by it.
public struct RTCPError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Shorter than a 4-byte RTCP header, or than its own length field says.
        public static let truncated = Code("rtcp_truncated")
        /// The version field is not 2.
        public static let badVersion = Code("rtcp_bad_version")
        /// A padding count that is zero or exceeds the packet.
        public static let badPadding = Code("rtcp_bad_padding")
        /// A known packet type whose body is too short for its declared counts.
        public static let malformed = Code("rtcp_malformed")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }

    public static func == (lhs: RTCPError, rhs: RTCPError) -> Bool { lhs.code == rhs.code }
}
