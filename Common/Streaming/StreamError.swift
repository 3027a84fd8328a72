/// Why a stream could not start or ended badly. Equality compares the code.
public struct StreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The request or its `start_stream` arguments are invalid.
        public static let invalidRequest = Code("invalid_request")
        /// The destination host did not resolve.
        public static let resolveFailed = Code("resolve_failed")
        /// The kernel has no route (and so no source address) toward the destination.
        public static let noRoute = Code("no_route")
        /// A local RTP/RTCP port could not be bound.
        public static let bindFailed = Code("bind_failed")
        /// The source could not be opened or started.
        public static let sourceFailed = Code("source_failed")
        /// The source gave no SPS and PPS within the preroll time; the SDP needs them.
        public static let noParameterSets = Code("no_parameter_sets")
        /// A stream is already running on this controller.
        public static let alreadyStreaming = Code("already_streaming")
        /// No stream is prepared or running.
        public static let notStreaming = Code("not_streaming")
        /// `stop_stream` named a destination the running stream does not go to (it was
        /// re-pointed since): that stream keeps running.
        public static let otherDestination = Code("stream_other_destination")
        /// libsrtp could not set up a session or protect a packet.
        public static let srtpFailed = Code("srtp_failed")
        /// An SRTCP packet failed authentication or the replay check.
        public static let srtpRejected = Code("srtp_rejected")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }

    public static func == (lhs: StreamError, rhs: StreamError) -> Bool { lhs.code == rhs.code }
}
