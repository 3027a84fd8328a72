import Foundation

/// Retention's decisions, free of disk and database: given the bytes each camera's complete
/// segments use, the oldest of those segments (not necessarily all of them), the limits and
/// the filesystem's space, which segments go and why. Each limit deletes the oldest segments
/// first; a segment is deleted once, for the first reason that takes it. When the segments
/// given do not cover an excess, the plan deletes all it may of them and the next pass,
/// reading the next oldest, goes on.
public struct RetentionPlan: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var id: Int64
        public var device: String
        public var startedAt: Date
        public var bytes: Int64

        public init(id: Int64, device: String, startedAt: Date, bytes: Int64) {
            self.id = id
            self.device = device
            self.startedAt = startedAt
            self.bytes = bytes
        }
    }

    /// A camera's own limits; each tightens the global one, never loosens it.
    public struct DeviceLimits: Sendable, Equatable {
        public var maxAgeDays: Int?
        public var quotaBytes: Int64?

        public init(maxAgeDays: Int? = nil, quotaBytes: Int64? = nil) {
            self.maxAgeDays = maxAgeDays
            self.quotaBytes = quotaBytes
        }
    }

    public struct Limits: Sendable, Equatable {
        public var maxAgeDays: Int
        public var quotaBytes: Int64?
        public var floorPercent: Double
        public var floorBytes: Int64
        public var devices: [String: DeviceLimits]

        public init(maxAgeDays: Int, quotaBytes: Int64?, floorPercent: Double, floorBytes: Int64, devices: [String: DeviceLimits] = [:]) {
            self.maxAgeDays = maxAgeDays
            self.quotaBytes = quotaBytes
            self.floorPercent = floorPercent
            self.floorBytes = floorBytes
            self.devices = devices
        }
    }

    /// The recordings filesystem's size and free bytes (statvfs).
    public struct Disk: Sendable, Equatable {
        public var totalBytes: Int64
        public var freeBytes: Int64

        public init(totalBytes: Int64, freeBytes: Int64) {
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    public enum Reason: String, Sendable, CaseIterable {
        case age, deviceQuota = "device_quota", quota, floor
    }

    public struct Deletion: Sendable, Equatable {
        public var id: Int64
        public var reason: Reason
    }

    /// In the order they should be carried out.
    public var deletions: [Deletion]
    /// Free space was under the floor before these deletions (the alert).
    public var belowFloor: Bool
    /// The free bytes the floor asks for: the larger of its percentage and its bytes.
    public var floorFreeBytes: Int64

    /// - Parameters:
    ///   - segments: the oldest complete segments, overall and of each camera with limits of its own.
    ///   - usage: the bytes of every complete segment by camera; nil when `segments` are all of them.
    public init(segments: [Segment], usage: [String: Int64]? = nil, limits: Limits, disk: Disk, now: Date) {
        var remaining = segments.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        var used = usage ?? segments.reduce(into: [:]) { $0[$1.device, default: 0] += $1.bytes }
        var deletions: [Deletion] = []
        var freed: Int64 = 0
        func take(_ reason: Reason, where chosen: (Segment) -> Bool) {
            remaining.removeAll { segment in
                guard chosen(segment) else { return false }
                deletions.append(Deletion(id: segment.id, reason: reason))
                used[segment.device, default: 0] -= segment.bytes
                freed += segment.bytes
                return true
            }
        }

        take(.age) { segment in
            let days = min(limits.maxAgeDays, limits.devices[segment.device]?.maxAgeDays ?? .max)
            return now.timeIntervalSince(segment.startedAt) > Double(days) * 86_400
        }

        var excess: [String: Int64] = [:]
        for (device, bytes) in used {
            if let quota = limits.devices[device]?.quotaBytes, bytes > quota { excess[device] = bytes - quota }
        }
        take(.deviceQuota) { segment in
            guard let over = excess[segment.device], over > 0 else { return false }
            excess[segment.device] = over - segment.bytes
            return true
        }

        if let quota = limits.quotaBytes {
            var over = used.values.reduce(0, +) - quota
            take(.quota) { segment in
                guard over > 0 else { return false }
                over -= segment.bytes
                return true
            }
        }

        let floor = max(limits.floorBytes, Int64((Double(disk.totalBytes) * limits.floorPercent / 100).rounded(.up)))
        var free = disk.freeBytes + freed
        take(.floor) { segment in
            guard free < floor else { return false }
            free += segment.bytes
            return true
        }

        self.deletions = deletions
        self.belowFloor = disk.freeBytes < floor
        self.floorFreeBytes = floor
    }
}
