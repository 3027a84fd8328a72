import OutpostSupport
import OutpostStreaming

/// A prepared or running stream: where it sends from and to, and its SDP offer.
public struct StreamSession: Sendable, Hashable {
    public var ssrc: UInt32
    public var cname: String
    /// The local RTP address (the SDP's `o=`/`c=` address and this host's RTP port).
    public var localRTP: SocketAddress
    /// Where this host receives RTCP (equal to ``localRTP`` with rtcp-mux).
    public var localRTCP: SocketAddress
    public var destinationRTP: SocketAddress
    public var destinationRTCP: SocketAddress
    public var parameterSets: ParameterSets
    public var offer: SDPOffer

    public var sdp: String { offer.text }

    /// The `output` of a successful `start_stream`.
    public var json: JSONValue {
        [
            "sdp": .string(sdp),
            "ssrc": .number(Double(ssrc)),
            "cname": .string(cname),
            "localAddress": .string(localRTP.host),
            "localRtpPort": .number(Double(localRTP.port)),
            "localRtcpPort": .number(Double(localRTCP.port)),
            "destination": .string(destinationRTP.description),
        ]
    }
}
