import Foundation

/// The recorder's decisions and texts, free of processes and disk: the engine's SDP and
/// arguments, segment file names, and the restart backoff.
public enum RecordingPlan {
    /// The SDP the engine reads: the agent's offer with the connection address set to where
    /// the engine receives, and the SRTP key as an SDES `a=crypto` line (RFC 4568) before the
    /// H.264 `a=rtpmap`. The result holds the key: it is written mode 0600, never logged.
    public static func engineSDP(offer: String, receiveAddress: String, rtpPort: Int, srtpKey: String) throws(RecordingError) -> String {
        var lines = offer.split(whereSeparator: \.isNewline).map(String.init)
        guard let media = lines.firstIndex(where: { $0.hasPrefix("m=video ") }) else {
            throw RecordingError(.streamNotStarted, "the agent's offer has no m=video line")
        }
        let parts = lines[media].split(separator: " ").map(String.init)
        guard parts.count >= 4 else { throw RecordingError(.streamNotStarted, "the offer's m=video line is malformed") }
        lines[media] = (["m=video", "\(rtpPort)"] + parts[2...]).joined(separator: " ")
        let family = receiveAddress.contains(":") ? "IP6" : "IP4"
        lines = lines.map { $0.hasPrefix("c=") ? "c=IN \(family) \(receiveAddress)" : $0 }
        guard let rtpmap = lines.firstIndex(where: { $0.hasPrefix("a=rtpmap:") }) else {
            throw RecordingError(.streamNotStarted, "the offer has no a=rtpmap line")
        }
        lines.insert("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\(srtpKey)", at: rtpmap)
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// ffmpeg receiving the SDP's stream and cutting it, without re-encoding, into MP4
    /// segments of `segmentSeconds` (at the first keyframe after each boundary) with the
    /// `moov` box up front (faststart) and no edit list (the first segment of a run starts
    /// at its first keyframe, not at the stream's first packet), so each file plays in a
    /// browser as it is and reports its real duration. Every
    /// closed segment is appended to `list` (CSV: file, start, end).
    public static func engineArguments(sdp: String, receiveAddress: String, segmentSeconds: Int, list: String, pattern: String) -> [String] {
        [
            "-hide_banner", "-nostdin", "-loglevel", "warning", "-protocol_whitelist", "file,udp,rtp,srtp", "-localaddr", receiveAddress,
            "-i", sdp, "-map", "0:v:0", "-c", "copy", "-f", "segment", "-segment_time", "\(segmentSeconds)", "-segment_format", "mp4",
            "-segment_format_options", "movflags=+faststart:use_editlist=0", "-reset_timestamps", "1", "-segment_list", list,
            "-segment_list_type", "csv", pattern,
        ]
    }

    /// The file names a segment list line names (its first CSV field), or nil for a line that is not one.
    public static func listedFile(_ line: Substring) -> String? {
        guard let name = line.split(separator: ",", maxSplits: 1).first.map(String.init), name.hasSuffix(".mp4"),
              !name.contains("/"), !name.hasPrefix(".")
        else { return nil }
        return name
    }

    /// A segment file name: the engine run's start in milliseconds and the engine's counter,
    /// so a restarted engine never overwrites an earlier file.
    public static func segmentPattern(runStartedAt: Date) -> String {
        "\(Int64(runStartedAt.timeIntervalSince1970 * 1_000))-%06d.mp4"
    }

    /// The name of segment `index` (0-based) of the run ``segmentPattern(runStartedAt:)`` names.
    public static func segmentFile(runStartedAt: Date, index: Int) -> String {
        let counter = String(index)
        return "\(Int64(runStartedAt.timeIntervalSince1970 * 1_000))-\(String(repeating: "0", count: max(0, 6 - counter.count)))\(counter).mp4"
    }

    /// Seconds to wait before restart `attempt` (1-based): 1, 2, 4 … at most 30.
    public static func backoff(attempt: Int) -> Int {
        min(30, 1 << min(max(attempt - 1, 0), 5))
    }

    /// The thumbnail beside a segment: the same name with `.jpg`.
    public static func thumbnailPath(of segment: String) -> String {
        String(segment.dropLast(".mp4".count)) + ".jpg"
    }
}
