import Foundation
import OutpostSupport

/// The live view's decisions, free of network and disk: what a mountpoint is made of, when
/// one is torn down, and which of a browser's Janus requests pass. The stream's key is an
/// ``SRTPKeyText``.
public enum LivePlan {
    /// `stop_stream` arguments naming the destination the stream to stop goes to, so that a
    /// stop racing the recorder's takeover cannot end the recorder's stream (an agent that
    /// predates the arguments ignores them and stops whatever runs).
    public static func stopArguments(host: String, rtpPort: Int) -> JSONValue {
        ["host": .string(host), "rtpPort": .number(Double(rtpPort))]
    }

    /// The H.264 format parameters of an SDP offer: the `a=fmtp` line of the first payload
    /// type whose `a=rtpmap` says H264/90000, reduced to `packetization-mode`,
    /// `profile-level-id` and `sprop-parameter-sets`, in that order.
    ///
    /// - Throws: ``LiveError/Code/badOffer`` without an H.264 payload type, its fmtp, or a valid
    ///   profile-level-id (6 hex digits).
    public static func h264FormatParameters(offer: String) throws(LiveError) -> (payloadType: Int, fmtp: String) {
        let lines = offer.split(whereSeparator: \.isNewline).map(String.init)
        var payloadType: Int?
        for line in lines where line.hasPrefix("a=rtpmap:") {
            let parts = line.dropFirst("a=rtpmap:".count).split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[1].uppercased().hasPrefix("H264/90000"), let pt = Int(parts[0]), (0...127).contains(pt) {
                payloadType = pt
                break
            }
        }
        guard let payloadType else { throw LiveError(.badOffer, "the offer has no H264/90000 payload type") }
        guard let line = lines.first(where: { $0.hasPrefix("a=fmtp:\(payloadType) ") }) else {
            throw LiveError(.badOffer, "the offer has no a=fmtp line for payload type \(payloadType)")
        }
        var parameters: [String: String] = [:]
        for item in line.dropFirst("a=fmtp:\(payloadType) ".count).split(separator: ";") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { parameters[pair[0].lowercased()] = pair[1] }
        }
        guard let profile = parameters["profile-level-id"], profile.count == 6, profile.allSatisfy(\.isHexDigit) else {
            throw LiveError(.badOffer, "the offer's fmtp has no valid profile-level-id")
        }
        var fmtp = ["packetization-mode=\(parameters["packetization-mode"] ?? "1")", "profile-level-id=\(profile.lowercased())"]
        if let sets = parameters["sprop-parameter-sets"],
           sets.allSatisfy({ $0.isLetter || $0.isNumber || "+/=,".contains($0) }), !sets.isEmpty
        {
            fmtp.append("sprop-parameter-sets=\(sets)")
        }
        return (payloadType, fmtp.joined(separator: ";"))
    }

    /// The streaming plugin's `create` request for one camera: an RTP mountpoint, video
    /// only, SRTP (suite 80) with `srtpKey`, no keyframe buffering (a buffered keyframe is
    /// replayed stale to each new viewer); ports 0 let Janus pick a free pair. The admin key
    /// is also the mountpoint's secret, which destroying or inspecting it needs.
    public static func createMountpoint(id: Int, device: String, address: String, ports: (rtp: Int, rtcp: Int)?, payloadType: Int,
                                        fmtp: String?, srtpKey: String, adminKey: String) -> JSONValue {
        var media: [String: JSONValue] = [
            "type": "video", "mid": "v", "label": "camera", "pt": .number(Double(payloadType)), "codec": "h264",
            "port": .number(Double(ports?.rtp ?? 0)), "rtcpport": .number(Double(ports?.rtcp ?? 0)), "iface": .string(address),
        ]
        if let fmtp { media["fmtp"] = .string(fmtp) }
        return [
            "request": "create", "admin_key": .string(adminKey), "type": "rtp", "id": .number(Double(id)),
            "name": .string("outpost-\(device)"), "description": .string(device), "is_private": true, "permanent": false, "secret": .string(adminKey),
            "media": [.object(media)], "srtpsuite": 80, "srtpcrypto": .string(srtpKey), "videobufferkf": false,
        ]
    }

    /// Why a live mountpoint should be torn down now, or nil to keep it.
    ///
    /// - Parameters:
    ///   - exists: whether Janus still has the mountpoint (false after a Janus restart).
    ///   - idleSince: when the mountpoint last had a viewer (its creation when never).
    ///   - mediaAgeMs: milliseconds since Janus last received the camera's media; nil before the first packet.
    ///   - startedAt: when the mountpoint was set up: a mountpoint that never received a packet
    ///     for the idle timeout since then ends as `no_media` too.
    public static func teardownReason(deviceOffline: Bool, exists: Bool, viewers: Int, idleSince: Date, mediaAgeMs: Int?, startedAt: Date,
                                      now: Date, idleTimeout: TimeInterval) -> String? {
        if !exists { return "gateway_lost" }
        if deviceOffline { return "device_offline" }
        if viewers == 0, now.timeIntervalSince(idleSince) >= idleTimeout { return "no_viewers" }
        let silentFor = mediaAgeMs.map { Double($0) / 1_000 } ?? now.timeIntervalSince(startedAt)
        if silentFor >= idleTimeout { return "no_media" }
        return nil
    }

    /// The Janus API calls a browser may make through the aggregator: sessions, attaching
    /// the streaming plugin, trickle, keepalive, hanging up, and `watch` of one of
    /// `watchable` mountpoints plus `start` / `pause` / `stop`. Anything else (creating or
    /// destroying mountpoints, listing them, other plugins) is refused.
    public static func checkBrowserRequest(_ body: JSONValue, watchable: Set<Int>) throws(LiveError) {
        guard let verb = body["janus"]?.stringValue else { throw LiveError(.requestRefused, "no janus verb") }
        switch verb {
        case "create", "keepalive", "trickle", "hangup", "detach", "destroy":
            return
        case "attach":
            guard body["plugin"]?.stringValue == "janus.plugin.streaming" else {
                throw LiveError(.requestRefused, "only janus.plugin.streaming may be attached")
            }
        case "message":
            guard let request = body["body"]?["request"]?.stringValue else { throw LiveError(.requestRefused, "message without a request") }
            switch request {
            case "watch":
                guard let id = body["body"]?["id"]?.intValue, watchable.contains(id) else {
                    throw LiveError(.requestRefused, "that mountpoint is not live")
                }
            case "start", "pause", "stop":
                return
            default:
                throw LiveError(.requestRefused, "streaming request \(request.prefix(40)) is not allowed")
            }
        default:
            throw LiveError(.requestRefused, "janus verb \(verb.prefix(40)) is not allowed")
        }
    }
}
