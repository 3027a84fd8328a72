import OutpostSupport
import OutpostStreaming

/// Everything needed to start one stream: what to send, where, and how.
public struct StreamRequest: Sendable, Hashable {
    public var source: StreamSource
    /// The receiver's host name or address.
    public var destinationHost: String
    /// The receiver's RTP port.
    public var rtpPort: Int
    /// The receiver's RTCP port. Defaults to `rtpPort + 1`, or `rtpPort` with rtcp-mux.
    public var rtcpPort: Int?
    public var options: StreamOptions

    public init(source: StreamSource, destinationHost: String, rtpPort: Int, rtcpPort: Int? = nil, options: StreamOptions = .init()) {
        self.source = source
        self.destinationHost = destinationHost
        self.rtpPort = rtpPort
        self.rtcpPort = rtcpPort
        self.options = options
    }

    public var effectiveRTCPPort: Int { rtcpPort ?? (options.rtcpMux ? rtpPort : rtpPort + 1) }

    public func validate() throws(StreamError) {
        guard !destinationHost.isEmpty else { throw StreamError(.invalidRequest, "host is required") }
        for (name, port) in [("rtpPort", rtpPort), ("rtcpPort", effectiveRTCPPort)] where !(1...65_535).contains(port) {
            throw StreamError(.invalidRequest, "\(name) \(port) is outside 1…65535")
        }
        try options.validate()
    }

    /// Reads `start_stream` arguments (see docs/streaming.md).
    ///
    /// `source` is the name of a source from the agent's configuration, looked up in
    /// `sources`: a remote command cannot make the agent run an arbitrary program or read an
    /// arbitrary file.
    public init(arguments: JSONValue, sources: [String: StreamSource]) throws(StreamError) {
        guard case .object = arguments else { throw StreamError(.invalidRequest, "arguments must be an object") }
        guard let name = arguments["source"]?.stringValue else { throw StreamError(.invalidRequest, "source (a configured source name) is required") }
        guard let source = sources[name] else { throw StreamError(.invalidRequest, "no configured source named \(name)") }
        guard let host = arguments["host"]?.stringValue, !host.isEmpty else { throw StreamError(.invalidRequest, "host is required") }
        guard let rtpPort = arguments["rtpPort"]?.intValue else { throw StreamError(.invalidRequest, "rtpPort (an integer) is required") }
        var rtcpPort: Int?
        if let value = arguments["rtcpPort"], value != .null {
            guard let port = value.intValue else { throw StreamError(.invalidRequest, "rtcpPort must be an integer") }
            rtcpPort = port
        }
        self.init(source: source, destinationHost: host, rtpPort: rtpPort, rtcpPort: rtcpPort,
                  options: try StreamOptions(arguments: arguments))
        try validate()
    }
}
