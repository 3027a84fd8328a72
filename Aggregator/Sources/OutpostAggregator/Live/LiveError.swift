/// A live-view failure with a stable code; the admin API maps it to a status.
public struct LiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// Live view is not configured, or Janus does not answer.
        public static let janusUnavailable = Code("live_unavailable")
        /// Janus answered a request with an error (its code and reason are in the context).
        public static let janusRefused = Code("janus_refused")
        /// Janus's answer was not the JSON expected.
        public static let janusMalformed = Code("janus_malformed")
        /// The agent's SDP offer had no usable H.264 `a=fmtp` line.
        public static let badOffer = Code("live_bad_offer")
        /// A browser asked Janus for something a viewer may not do.
        public static let requestRefused = Code("live_request_refused")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }
}
