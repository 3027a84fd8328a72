import OutpostSupport
import OutpostSRTP
import OutpostStreaming

/// How a stream behaves. Every default is written down here and in docs/streaming.md.
public struct StreamOptions: Sendable, Hashable {
    /// RTP payload bytes per packet. Defaults to 1,200.
    public var payloadSize: Int = 1200
    /// Dynamic payload type. Defaults to 96.
    public var payloadType: UInt8 = 96
    /// RTP and RTCP on one port (RFC 5761). Defaults to off.
    public var rtcpMux: Bool = false
    /// The local address to send from and to put in the SDP. Defaults to the kernel's source
    /// address toward the destination.
    public var localAddress: String?
    /// The local RTP port (RTCP is the next one). Defaults to 0: a free even port.
    public var localPort: Int = 0
    /// SDES CNAME. Defaults to `outpost@<local address>`.
    public var cname: String?
    /// SDP `s=`. Defaults to `outpost-agent`.
    public var sessionName: String = "outpost-agent"
    /// The RTCP minimum interval. Defaults to RFC 3550's 5 s.
    public var rtcpMinimumInterval: Duration = .seconds(5)
    /// How often a `stream_stats` event goes out. Defaults to 5 s.
    public var statsInterval: Duration = .seconds(5)
    /// Whether the receiver is expected to send RTCP. Defaults to off (ffmpeg sends none).
    public var expectFeedback: Bool = false
    /// Silence after which feedback counts as lost. Defaults to 15 s (three RTCP intervals).
    public var feedbackTimeout: Duration = .seconds(15)
    /// What to do when feedback is lost. Defaults to keep streaming.
    public var onFeedbackLoss: FeedbackWatchdog.Policy = .continue
    /// The initial bitrate given to a command source's `{bitrate}`, bits/s. Defaults to 2 Mbit/s.
    public var bitrate: UInt64 = 2_000_000
    /// REMB targets are clamped to this range. Defaults to 300 kbit/s … 8 Mbit/s.
    public var minimumBitrate: UInt64 = 300_000
    public var maximumBitrate: UInt64 = 8_000_000
    /// At most one SPS/PPS resend per this interval. Defaults to 250 ms.
    public var keyframeResendInterval: Duration = .milliseconds(250)
    /// Packets kept for NACK retransmission. Defaults to 512.
    public var retransmissionHistory: Int = 512
    /// How long `prepare` waits for the source's first SPS and PPS. Defaults to 10 s.
    public var prerollTimeout: Duration = .seconds(10)
    /// Encrypt and authenticate RTP with this key (SRTP, AES_CM_128_HMAC_SHA1_80). Defaults to
    /// none: plain RTP, for a LAN receiver that asks for it.
    public var srtpKey: SRTPKey?
    /// With `srtpKey`, protect RTCP too (SRTCP) and accept only authenticated RTCP. Defaults to
    /// on. Janus's streaming plugin neither decrypts a source's SRTCP nor encrypts the PLI/REMB
    /// it sends back, so the live path turns it off; RTCP carries counters and the CNAME, no media.
    public var srtcp: Bool = true

    public init() {}

    public func validate() throws(StreamError) {
        guard (64...1452).contains(payloadSize) else { throw StreamError(.invalidRequest, "payloadSize must be in 64…1452") }
        guard (96...127).contains(payloadType) else { throw StreamError(.invalidRequest, "payloadType must be dynamic (96…127)") }
        guard (0...65_534).contains(localPort) else { throw StreamError(.invalidRequest, "localPort must be in 0…65534") }
        guard rtcpMinimumInterval >= .milliseconds(100) else { throw StreamError(.invalidRequest, "rtcpMinimumInterval below 100 ms") }
        guard statsInterval >= .milliseconds(100) else { throw StreamError(.invalidRequest, "statsInterval below 100 ms") }
        guard feedbackTimeout >= .milliseconds(500) else { throw StreamError(.invalidRequest, "feedbackTimeout below 500 ms") }
        guard minimumBitrate > 0, minimumBitrate <= maximumBitrate else { throw StreamError(.invalidRequest, "minimumBitrate must be in 1…maximumBitrate") }
        guard (16...32_768).contains(retransmissionHistory) else { throw StreamError(.invalidRequest, "retransmissionHistory must be in 16…32768") }
        if let cname, cname.utf8.count > 255 { throw StreamError(.invalidRequest, "cname longer than 255 bytes") }
    }

    /// The options part of `start_stream` arguments; absent keys keep their defaults.
    public init(arguments: JSONValue) throws(StreamError) {
        func integer(_ key: String) throws(StreamError) -> Int? {
            guard let value = arguments[key], value != .null else { return nil }
            guard let number = value.intValue else { throw StreamError(.invalidRequest, "\(key) must be an integer") }
            return number
        }
        func seconds(_ key: String) throws(StreamError) -> Duration? {
            guard let value = arguments[key], value != .null else { return nil }
            guard let number = value.doubleValue, number.isFinite, number > 0, number < 86_400 else {
                throw StreamError(.invalidRequest, "\(key) must be a positive number of seconds")
            }
            return .milliseconds(Int64(number * 1000))
        }
        func flag(_ key: String) throws(StreamError) -> Bool? {
            guard let value = arguments[key], value != .null else { return nil }
            guard let bool = value.boolValue else { throw StreamError(.invalidRequest, "\(key) must be true or false") }
            return bool
        }
        func bits(_ key: String) throws(StreamError) -> UInt64? {
            guard let number = try integer(key) else { return nil }
            guard number > 0 else { throw StreamError(.invalidRequest, "\(key) must be positive") }
            return UInt64(number)
        }
        self.init()
        if let value = try integer("payloadSize") { payloadSize = value }
        if let value = try integer("payloadType") {
            guard (0...127).contains(value) else { throw StreamError(.invalidRequest, "payloadType must be in 96…127") }
            payloadType = UInt8(value)
        }
        if let value = try flag("rtcpMux") { rtcpMux = value }
        if let value = arguments["localAddress"]?.stringValue { localAddress = value }
        if let value = try integer("localPort") { localPort = value }
        if let value = arguments["cname"]?.stringValue { cname = value }
        if let value = try seconds("rtcpIntervalSeconds") { rtcpMinimumInterval = value }
        if let value = try seconds("statsIntervalSeconds") { statsInterval = value }
        if let value = try flag("expectFeedback") { expectFeedback = value }
        if let value = try seconds("feedbackTimeoutSeconds") { feedbackTimeout = value }
        if let value = arguments["onFeedbackLoss"] {
            guard let text = value.stringValue, let policy = FeedbackWatchdog.Policy(rawValue: text) else {
                throw StreamError(.invalidRequest, "onFeedbackLoss must be continue or stop")
            }
            onFeedbackLoss = policy
        }
        if let value = try bits("bitrate") { bitrate = value }
        if let value = try bits("minBitrate") { minimumBitrate = value }
        if let value = try bits("maxBitrate") { maximumBitrate = value }
        if let value = arguments["srtpKey"], value != .null {
            guard let text = value.stringValue else { throw StreamError(.invalidRequest, "srtpKey must be a base64 string") }
            srtpKey = try SRTPKey(base64: text)
        }
        if let value = try flag("srtcp") { srtcp = value }
        try validate()
    }
}
