import Foundation
import OutpostAggregator
import Testing

@Suite("Retention decisions (no disk, no database)")
struct RetentionPlanTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let roomy = RetentionPlan.Disk(totalBytes: 1_000_000, freeBytes: 900_000)

    /// Segment `i` of `device` started `i` minutes after `base`, `bytes` long.
    static func segments(_ device: String, count: Int, bytes: Int64 = 100, base: Date = now.addingTimeInterval(-3_600), firstID: Int64 = 1)
        -> [RetentionPlan.Segment]
    {
        (0..<count).map { RetentionPlan.Segment(id: firstID + Int64($0), device: device, startedAt: base.addingTimeInterval(Double($0) * 60),
                                                bytes: bytes) }
    }

    static func limits(age: Int = 30, quota: Int64? = nil, floorPercent: Double = 0, floorBytes: Int64 = 0,
                       devices: [String: RetentionPlan.DeviceLimits] = [:]) -> RetentionPlan.Limits {
        RetentionPlan.Limits(maxAgeDays: age, quotaBytes: quota, floorPercent: floorPercent, floorBytes: floorBytes, devices: devices)
    }

    @Test("within every limit nothing is deleted and the floor is not under")
    func nothing() {
        let plan = RetentionPlan(segments: Self.segments("cam-a", count: 10), limits: Self.limits(floorPercent: 10), disk: Self.roomy, now: Self.now)
        #expect(plan.deletions.isEmpty)
        #expect(!plan.belowFloor)
        #expect(plan.floorFreeBytes == 100_000)
    }

    @Test("a total quota deletes exactly the oldest segments across cameras until under it, reason quota")
    func totalQuota() {
        let a = Self.segments("cam-a", count: 5, firstID: 1)
        let b = Self.segments("cam-b", count: 5, base: Self.now.addingTimeInterval(-3_630), firstID: 10)
        let plan = RetentionPlan(segments: (a + b).shuffled(), limits: Self.limits(quota: 650), disk: Self.roomy, now: Self.now)
        // 1000 bytes, quota 650: the four oldest go (b's start 30 s before a's at each minute).
        #expect(plan.deletions.map(\.id) == [10, 1, 11, 2])
        #expect(plan.deletions.allSatisfy { $0.reason == .quota })
    }

    @Test("an age limit deletes what is older, and a camera's shorter limit wins over the global one, reason age")
    func age() {
        let old = Self.segments("cam-a", count: 3, base: Self.now.addingTimeInterval(-31 * 86_400), firstID: 1)
        let recent = Self.segments("cam-a", count: 2, base: Self.now.addingTimeInterval(-3 * 86_400), firstID: 10)
        let other = Self.segments("cam-b", count: 2, base: Self.now.addingTimeInterval(-3 * 86_400), firstID: 20)
        let plan = RetentionPlan(segments: old + recent + other,
                                 limits: Self.limits(age: 30, devices: ["cam-b": .init(maxAgeDays: 2), "cam-a": .init(maxAgeDays: 60)]),
                                 disk: Self.roomy, now: Self.now)
        #expect(Set(plan.deletions.map(\.id)) == [1, 2, 3, 20, 21])
        #expect(plan.deletions.allSatisfy { $0.reason == .age })
    }

    @Test("a camera's quota deletes only that camera's oldest, reason device_quota, before the total quota")
    func deviceQuota() {
        let a = Self.segments("cam-a", count: 5, firstID: 1)
        let b = Self.segments("cam-b", count: 5, firstID: 10)
        let plan = RetentionPlan(segments: a + b, limits: Self.limits(quota: 650, devices: ["cam-b": .init(quotaBytes: 250)]),
                                 disk: Self.roomy, now: Self.now)
        #expect(plan.deletions.filter { $0.reason == .deviceQuota }.map(\.id) == [10, 11, 12])
        // 700 left, quota 650: one more, the oldest of what is left (cam-a's first).
        #expect(plan.deletions.filter { $0.reason == .quota }.map(\.id) == [1])
    }

    @Test("under the free-space floor the oldest go until the floor is met, whatever the other limits; the alert is raised")
    func floor() {
        let disk = RetentionPlan.Disk(totalBytes: 10_000, freeBytes: 700)
        let plan = RetentionPlan(segments: Self.segments("cam-a", count: 10, bytes: 200), limits: Self.limits(floorPercent: 10, floorBytes: 500),
                                 disk: disk, now: Self.now)
        #expect(plan.floorFreeBytes == 1_000)
        #expect(plan.belowFloor)
        #expect(plan.deletions.map(\.id) == [1, 2])
        #expect(plan.deletions.allSatisfy { $0.reason == .floor })
    }

    @Test("bytes the other limits free count toward the floor; floor bytes win over a smaller percentage")
    func floorAfterQuota() {
        let disk = RetentionPlan.Disk(totalBytes: 10_000, freeBytes: 1_000)
        let plan = RetentionPlan(segments: Self.segments("cam-a", count: 10, bytes: 200), limits: Self.limits(quota: 1_800, floorPercent: 1, floorBytes: 1_300),
                                 disk: disk, now: Self.now)
        #expect(plan.floorFreeBytes == 1_300)
        #expect(plan.deletions.map(\.id) == [1, 2])
        #expect(plan.deletions.map(\.reason) == [.quota, .floor])
    }

    @Test("a floor that cannot be met deletes every segment and no more")
    func floorUnreachable() {
        let plan = RetentionPlan(segments: Self.segments("cam-a", count: 3), limits: Self.limits(floorBytes: 1_000_000),
                                 disk: RetentionPlan.Disk(totalBytes: 1_000_000, freeBytes: 10), now: Self.now)
        #expect(plan.deletions.map(\.id) == [1, 2, 3])
    }

    @Test("with only the oldest segments read and the usage from aggregates: a quota excess larger than them deletes all of them (the next pass goes on); a camera's own quota counts its whole usage; the floor counts only what was freed")
    func fromAggregates() {
        let oldest = Self.segments("cam-a", count: 3)
        // cam-a really uses 1000 bytes (ten segments), cam-b 500: quota 1000 needs 500 freed, three read.
        let quota = RetentionPlan(segments: oldest, usage: ["cam-a": 1_000, "cam-b": 500], limits: Self.limits(quota: 1_000), disk: Self.roomy,
                                  now: Self.now)
        #expect(quota.deletions.map(\.id) == oldest.map(\.id))
        #expect(quota.deletions.allSatisfy { $0.reason == .quota })
        // Quota 1350: 150 over, two of the three.
        let partial = RetentionPlan(segments: oldest, usage: ["cam-a": 1_000, "cam-b": 500], limits: Self.limits(quota: 1_350), disk: Self.roomy,
                                    now: Self.now)
        #expect(partial.deletions.map(\.id) == [1, 2])
        let own = RetentionPlan(segments: oldest, usage: ["cam-a": 1_000], limits: Self.limits(devices: ["cam-a": .init(quotaBytes: 850)]),
                                disk: Self.roomy, now: Self.now)
        #expect(own.deletions.map(\.id) == [1, 2])
        #expect(own.deletions.allSatisfy { $0.reason == .deviceQuota })
        let floor = RetentionPlan(segments: oldest, usage: ["cam-a": 1_000], limits: Self.limits(floorBytes: 1_000),
                                  disk: RetentionPlan.Disk(totalBytes: 10_000, freeBytes: 850), now: Self.now)
        #expect(floor.deletions.map(\.id) == [1, 2])
        #expect(floor.belowFloor)
    }
}


@Suite("Recorder texts and backoff (no processes)")
struct RecordingPlanTests {
    static let offer = """
        v=0\r
        o=- 42 1 IN IP4 192.168.1.20\r
        s=outpost-agent\r
        c=IN IP4 192.168.1.20\r
        t=0 0\r
        m=video 5004 RTP/SAVPF 96\r
        a=rtpmap:96 H264/90000\r
        a=fmtp:96 packetization-mode=1;profile-level-id=42C01E;sprop-parameter-sets=Z0LAHtk=,aM48gA==\r

        """

    @Test("the engine's SDP: receive address and port, the key as a=crypto before the rtpmap, the rest of the offer kept")
    func engineSDP() throws {
        let sdp = try RecordingPlan.engineSDP(offer: Self.offer, receiveAddress: "10.0.0.5", rtpPort: 41_000, srtpKey: "S0VZ")
        let lines = sdp.components(separatedBy: "\r\n")
        #expect(lines.contains("c=IN IP4 10.0.0.5"))
        #expect(!sdp.contains("c=IN IP4 192.168.1.20"))
        #expect(lines.contains("m=video 41000 RTP/SAVPF 96"))
        let crypto = try #require(lines.firstIndex(of: "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:S0VZ"))
        #expect(lines[crypto + 1] == "a=rtpmap:96 H264/90000")
        #expect(lines.contains { $0.hasPrefix("a=fmtp:96 packetization-mode=1") })
        #expect(throws: RecordingError(.streamNotStarted, "")) {
            try RecordingPlan.engineSDP(offer: "v=0\r\n", receiveAddress: "10.0.0.5", rtpPort: 41_000, srtpKey: "S0VZ")
        }
    }

    @Test("segment list lines name files in the camera's directory only")
    func listedFiles() {
        #expect(RecordingPlan.listedFile("1800000000000-000003.mp4,6.0,11.9") == "1800000000000-000003.mp4")
        #expect(RecordingPlan.listedFile("../x.mp4,0,1") == nil)
        #expect(RecordingPlan.listedFile(".hidden.mp4,0,1") == nil)
        #expect(RecordingPlan.listedFile("a.mkv,0,1") == nil)
        #expect(RecordingPlan.thumbnailPath(of: "cam/1-000001.mp4") == "cam/1-000001.jpg")
    }

    @Test("restart backoff doubles from 1 s and stops at 30 s")
    func backoff() {
        #expect((1...8).map(RecordingPlan.backoff(attempt:)) == [1, 2, 4, 8, 16, 30, 30, 30])
    }
}
