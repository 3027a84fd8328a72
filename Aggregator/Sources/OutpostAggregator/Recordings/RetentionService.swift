import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps the recordings within their limits, continuously: every `checkIntervalSeconds` it
/// reads the bytes used by camera (one aggregate row each), the ``batch`` oldest complete
/// segments overall and of each camera with limits of its own, the cameras' limits and the
/// filesystem's free space, lets ``RetentionPlan`` choose, deletes what it chose (oldest
/// first), and updates the storage gauges. A pass never reads every row; an excess larger
/// than a batch is worked off over the next passes. The orphan scan runs at start and every
/// `orphanScanIntervalSeconds`.
public struct RetentionService: Service {
    let settings: RecordingSettings
    let store: RecordingsStore
    let library: RecordingLibrary
    let metrics: AggregatorMetrics
    let readiness: SchemaReadiness
    let logger: Logger
    /// How many of the oldest segments a pass reads, overall and per camera with its own limits.
    var batch = 500

    public init(settings: RecordingSettings, client: PostgresPool, metrics: AggregatorMetrics, readiness: SchemaReadiness, logger: Logger) {
        self.settings = settings
        store = RecordingsStore(client: client, logger: logger)
        library = RecordingLibrary(settings: settings, store: store, metrics: metrics, logger: logger)
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
    }

    /// The recordings filesystem's size and free bytes (for an unprivileged writer).
    static func disk(_ directory: String) -> RetentionPlan.Disk? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        let block = Int64(stats.f_frsize)
        return RetentionPlan.Disk(totalBytes: Int64(stats.f_blocks) * block, freeBytes: Int64(stats.f_bavail) * block)
    }

    /// One pass: plan, delete, report. Returns the plan carried out.
    @discardableResult
    func enforce(now: Date = Date()) async throws -> RetentionPlan? {
        try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        guard let disk = Self.disk(settings.directory) else {
            logger.warning("recordings filesystem not readable", metadata: ["directory": "\(settings.directory)"])
            return nil
        }
        var devices: [String: RetentionPlan.DeviceLimits] = [:]
        for setting in try await store.allSettings() where setting.maxAgeDays != nil || setting.quotaBytes != nil {
            devices[setting.device] = RetentionPlan.DeviceLimits(maxAgeDays: setting.maxAgeDays, quotaBytes: setting.quotaBytes)
        }
        let usage = try await store.usage()
        var segments: [Int64: RetentionPlan.Segment] = [:]
        for segment in try await store.oldest(device: nil, limit: batch) { segments[segment.id] = segment }
        for device in devices.keys.sorted() where usage[device] != nil {
            for segment in try await store.oldest(device: device, limit: batch) { segments[segment.id] = segment }
        }
        let plan = RetentionPlan(
            segments: Array(segments.values), usage: usage,
            limits: RetentionPlan.Limits(maxAgeDays: settings.maxAgeDays, quotaBytes: settings.quotaBytes, floorPercent: settings.floorPercent,
                                         floorBytes: settings.floorBytes, devices: devices),
            disk: disk, now: now)
        for deletion in plan.deletions {
            try await library.delete(id: deletion.id, reason: deletion.reason.rawValue)
        }
        if plan.belowFloor {
            logger.warning("recordings filesystem under its free-space floor: oldest segments purged", metadata: [
                "free_bytes": "\(disk.freeBytes)", "floor_bytes": "\(plan.floorFreeBytes)", "deleted": "\(plan.deletions.count)"])
        } else if !plan.deletions.isEmpty {
            logger.info("retention", metadata: ["deleted": "\(plan.deletions.count)"])
        }
        let totals = try await store.totals(device: nil)
        metrics.recordingStorage(bytes: totals.bytes, oldest: totals.oldest, freeBytes: Self.disk(settings.directory)?.freeBytes ?? disk.freeBytes,
                                 floorBytes: plan.floorFreeBytes, belowFloor: plan.belowFloor)
        return plan
    }

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        await cancelWhenGracefulShutdown {
            var lastScan: ContinuousClock.Instant?
            while !Task.isCancelled {
                do {
                    if lastScan.map({ ContinuousClock.now - $0 >= .seconds(settings.orphanScanIntervalSeconds) }) ?? true {
                        lastScan = .now
                        _ = try await library.scanOrphans()
                    }
                    try await enforce()
                } catch {
                    logger.warning("retention pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(settings.checkIntervalSeconds))
            }
        }
    }
}
