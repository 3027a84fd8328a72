/// The SDP (RFC 8866) describing one H.264 RTP stream from this host.
///
/// - `o=` and `c=` carry the host's own address on the interface that routes to the
///   destination (``RouteLookup``) or a configured one; never 0.0.0.0 or ::, which makes a
///   media server send its RTCP to itself.
/// - `m=video` names the destination's RTP port: the port an SDP-file receiver (ffmpeg,
///   GStreamer `sdpdemux`, mediamtx) listens on.
/// - `a=rtcp:` (RFC 3605) names the port and address where this host receives RTCP, since
///   that is not the `m=` port plus one here.
/// - `m=video` says `RTP/SAVPF` when the stream is SRTP (RFC 3711, RFC 5124); the key is not
///   in the offer.
/// - `a=fmtp` carries packetization-mode 1, profile-level-id and sprop-parameter-sets from
///   the stream's own SPS/PPS (RFC 6184 §8.1); `a=rtcp-fb` offers nack, nack pli, ccm fir
///   (RFC 4585, RFC 5104) and goog-remb.
public struct SDPOffer: Sendable, Hashable {
    public var originAddress: SocketAddress
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    public var sessionName: String
    public var mediaPort: Int
    /// Where this host receives RTCP (its RTCP port, or its RTP port with rtcp-mux).
    public var rtcpPort: Int
    public var rtcpMux: Bool
    public var payloadType: UInt8
    public var parameterSets: ParameterSets
    public var ssrc: UInt32
    public var cname: String
    /// SRTP (profile RTP/SAVPF). The key is never part of the offer: the receiver gets it
    /// through its own configuration.
    public var secure: Bool = false

    public init(originAddress: SocketAddress, sessionID: UInt64, sessionVersion: UInt64 = 1, sessionName: String, mediaPort: Int,
                rtcpPort: Int, rtcpMux: Bool, payloadType: UInt8 = 96, parameterSets: ParameterSets, ssrc: UInt32, cname: String)
    {
        self.originAddress = originAddress
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.sessionName = sessionName
        self.mediaPort = mediaPort
        self.rtcpPort = rtcpPort
        self.rtcpMux = rtcpMux
        self.payloadType = payloadType
        self.parameterSets = parameterSets
        self.ssrc = ssrc
        self.cname = cname
    }

    /// The SDP text, CRLF line endings.
    public var text: String {
        let addressType = originAddress.family == .ipv4 ? "IP4" : "IP6"
        let pt = payloadType
        var fmtp = "packetization-mode=1"
        if let profile = parameterSets.profileLevelID { fmtp += ";profile-level-id=\(profile)" }
        fmtp += ";sprop-parameter-sets=\(parameterSets.spropParameterSets)"
        var lines = [
            "v=0",
            "o=- \(sessionID) \(sessionVersion) IN \(addressType) \(originAddress.host)",
            "s=\(Self.sanitized(sessionName))",
            "c=IN \(addressType) \(originAddress.host)",
            "t=0 0",
            "a=tool:outpost-agent",
            "m=video \(mediaPort) \(secure ? "RTP/SAVPF" : "RTP/AVPF") \(pt)",
            "a=rtpmap:\(pt) H264/90000",
            "a=fmtp:\(pt) \(fmtp)",
            "a=rtcp-fb:\(pt) nack",
            "a=rtcp-fb:\(pt) nack pli",
            "a=rtcp-fb:\(pt) ccm fir",
            "a=rtcp-fb:\(pt) goog-remb",
            "a=rtcp:\(rtcpPort) IN \(addressType) \(originAddress.host)",
        ]
        if rtcpMux { lines.append("a=rtcp-mux") }
        lines.append("a=ssrc:\(ssrc) cname:\(Self.sanitized(cname))")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// SDP text fields may not hold CR or LF.
    private static func sanitized(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
        return scalars.isEmpty ? "-" : String(scalars)
    }
}
