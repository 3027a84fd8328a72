import OutpostSupport

/// The `recordings` section (docs/recordings.md): where segments go, how long they are, and
/// the retention limits the retention service enforces. Per-camera mode and limits are set
/// through the admin API (`PUT /devices/{id}/recording`).
public struct RecordingSettings: Codable, Sendable, Equatable {
    /// Runs the recorder and retention here. Every aggregator with recordings on must see the
    /// same ``directory`` (one host, or storage they share): rows name files relative to it.
    public var enabled: Bool
    /// Segments and thumbnails live in `{directory}/{device}/`; the engine's SDP files (which
    /// hold the SRTP key) in `{directory}/.engine/`, mode 0700.
    public var directory: String
    /// The address cameras send to and the engine binds; never a wildcard.
    public var mediaAddress: String
    /// UDP ports the engine receives on (an even RTP port and the next for RTCP), `low-high`.
    public var rtpPortRange: String
    /// Length of one MP4 segment. Defaults to 60 s.
    public var segmentSeconds: Int
    /// Width of a segment's JPEG thumbnail (height keeps the aspect). Defaults to 320.
    public var thumbnailWidth: Int
    /// The media engine and its probe.
    public var ffmpegPath: String
    public var ffprobePath: String
    /// Segments older than this are deleted (reason `age`); a camera's own limit may be shorter.
    public var maxAgeDays: Int
    /// All cameras' segments together stay under this many bytes (reason `quota`); nil: no total quota.
    public var quotaBytes: Int64?
    /// Free space on the recordings filesystem kept above both this percentage and these bytes
    /// by deleting the oldest segments (reason `floor`), whatever the other limits say.
    public var floorPercent: Double
    public var floorBytes: Int64
    /// What the orphan scan does with a playable segment file that has no row: `adopt` or `remove`.
    public var orphans: String
    /// How often the recorder and retention look at the cameras and the disk.
    public var checkIntervalSeconds: Int
    /// How often the orphan scan runs after the one at start.
    public var orphanScanIntervalSeconds: Int
    /// The agent's stream source the recorder asks for.
    public var source: String

    public init(enabled: Bool = false, directory: String = "/var/lib/outpost-aggregator/recordings", mediaAddress: String = "127.0.0.1",
                rtpPortRange: String = "41000-41999", segmentSeconds: Int = 60, thumbnailWidth: Int = 320, ffmpegPath: String = "/usr/bin/ffmpeg",
                ffprobePath: String = "/usr/bin/ffprobe", maxAgeDays: Int = 30, quotaBytes: Int64? = nil, floorPercent: Double = 10,
                floorBytes: Int64 = 1 << 30, orphans: String = "adopt", checkIntervalSeconds: Int = 2, orphanScanIntervalSeconds: Int = 3_600,
                source: String = "camera") {
        self.enabled = enabled
        self.directory = directory
        self.mediaAddress = mediaAddress
        self.rtpPortRange = rtpPortRange
        self.segmentSeconds = segmentSeconds
        self.thumbnailWidth = thumbnailWidth
        self.ffmpegPath = ffmpegPath
        self.ffprobePath = ffprobePath
        self.maxAgeDays = maxAgeDays
        self.quotaBytes = quotaBytes
        self.floorPercent = floorPercent
        self.floorBytes = floorBytes
        self.orphans = orphans
        self.checkIntervalSeconds = checkIntervalSeconds
        self.orphanScanIntervalSeconds = orphanScanIntervalSeconds
        self.source = source
    }

    /// The even RTP ports of ``rtpPortRange`` (each with its odd RTCP neighbour inside the range).
    var rtpPorts: [Int] {
        guard let range = PortRange.parse(rtpPortRange) else { return [] }
        return stride(from: range.lowerBound + range.lowerBound % 2, to: range.upperBound, by: 2).map { $0 }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RecordingSettings()
        enabled = try container.value(.enabled, default: defaults.enabled)
        directory = try container.value(.directory, default: defaults.directory, where: { $0.hasPrefix("/") }, "must be an absolute path")
        mediaAddress = try container.value(.mediaAddress, default: defaults.mediaAddress, where: { !LiveSettings.isWildcard($0) },
                                           "must be the routed address cameras send to, never a wildcard")
        rtpPortRange = try container.value(.rtpPortRange, default: defaults.rtpPortRange, where: { PortRange.parse($0) != nil },
                                           "must be low-high within 1024-65535")
        segmentSeconds = try container.value(.segmentSeconds, default: defaults.segmentSeconds, where: { (2...3_600).contains($0) },
                                             "must be 2-3600 seconds")
        thumbnailWidth = try container.value(.thumbnailWidth, default: defaults.thumbnailWidth, where: { (16...320).contains($0) && $0 % 2 == 0 },
                                             "must be an even width of 16-320 pixels")
        ffmpegPath = try container.value(.ffmpegPath, default: defaults.ffmpegPath, where: { $0.hasPrefix("/") }, "must be an absolute path")
        ffprobePath = try container.value(.ffprobePath, default: defaults.ffprobePath, where: { $0.hasPrefix("/") }, "must be an absolute path")
        maxAgeDays = try container.value(.maxAgeDays, default: defaults.maxAgeDays, where: { (1...36_500).contains($0) }, "must be 1-36500 days")
        quotaBytes = try container.value(.quotaBytes, default: nil, where: { $0.map { $0 > 0 } ?? true }, "must be positive")
        floorPercent = try container.value(.floorPercent, default: defaults.floorPercent, where: { (0...90).contains($0) }, "must be 0-90")
        floorBytes = try container.value(.floorBytes, default: defaults.floorBytes, where: { $0 >= 0 }, "must not be negative")
        orphans = try container.value(.orphans, default: defaults.orphans, where: { ["adopt", "remove"].contains($0) }, "must be adopt or remove")
        checkIntervalSeconds = try container.value(.checkIntervalSeconds, default: defaults.checkIntervalSeconds,
                                                   where: { (1...600).contains($0) }, "must be 1-600 seconds")
        orphanScanIntervalSeconds = try container.value(.orphanScanIntervalSeconds, default: defaults.orphanScanIntervalSeconds,
                                                        where: { (10...86_400).contains($0) }, "must be 10-86400 seconds")
        source = try container.value(.source, default: defaults.source, where: { (1...64).contains($0.count) }, "must be 1-64 characters")
    }
}
