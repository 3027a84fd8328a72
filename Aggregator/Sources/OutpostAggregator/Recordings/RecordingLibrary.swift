import Foundation
import Logging
import OutpostWire

/// The segments on disk and their rows together: cataloguing a closed segment, deleting
/// one (row first, then its files), and the orphan scan.
struct RecordingLibrary: Sendable {
    let settings: RecordingSettings
    let store: RecordingsStore
    let media: MediaTools
    let metrics: AggregatorMetrics
    let logger: Logger

    init(settings: RecordingSettings, store: RecordingsStore, metrics: AggregatorMetrics, logger: Logger) {
        self.settings = settings
        self.store = store
        media = MediaTools(settings: settings)
        self.metrics = metrics
        self.logger = logger
    }

    func absolute(_ relative: String) -> String { (settings.directory as NSString).appendingPathComponent(relative) }

    static func size(_ path: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The row of a segment the engine has just opened: `recording`, until ``catalogue(device:name:outcome:)``.
    func open(device: String, name: String) async {
        do {
            try await store.insertRecording(device: device, startedAt: Date(), path: "\(device)/\(name)")
        } catch {
            logger.warning("segment's recording row not written", metadata: ["device": "\(device)", "segment": "\(name)", "error": "\(error)"])
        }
    }

    /// Finishes the rows left `recording` by an engine or an aggregator that is gone
    /// (``RecordingsStore/abandoned(owner:except:staleAfter:)``): a file that is quiet (not
    /// modified for two segment lengths plus 30 s) is catalogued, which makes it `complete` or,
    /// unplayable, `deleted` (`partial`); a row without its file becomes `missing`. Returns how
    /// many rows it finished.
    @discardableResult
    func finishAbandoned(owner: String, except: Set<String>, staleAfter: Int, now: Date = Date()) async throws -> Int {
        var finished = 0
        let quiet = Double(settings.segmentSeconds * 2 + 30)
        for recording in try await store.abandoned(owner: owner, except: except, staleAfter: staleAfter) {
            let path = absolute(recording.path)
            guard FileManager.default.fileExists(atPath: path) else {
                try await store.markRecordingMissing(id: recording.id)
                metrics.recordingSegment("missing")
                finished += 1
                continue
            }
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
            guard now.timeIntervalSince(modified) > quiet else { continue }
            let parts = recording.path.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            await catalogue(device: parts[0], name: parts[1], outcome: "recovered")
            finished += 1
        }
        if finished > 0 { logger.info("abandoned segments finished", metadata: ["count": "\(finished)"]) }
        return finished
    }

    /// Finishes what an engine run ended by ``OrphanedEngines`` left: each of the run's files
    /// (named with `runPrefix`) whose row is missing or still `recording` is catalogued at once
    /// (the engine is known gone: no quiet time to wait), outcome `recovered`. Returns how many.
    @discardableResult
    func finishRun(device: String, runPrefix: String) async throws -> Int {
        let directory = absolute(device)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(runPrefix) && $0.hasSuffix(".mp4") }.sorted()
        guard !names.isEmpty else { return 0 }
        let states = try await store.states(paths: names.map { "\(device)/\($0)" })
        var finished = 0
        for name in names where (states["\(device)/\(name)"] ?? "recording") == "recording" {
            await catalogue(device: device, name: name, outcome: "recovered")
            finished += 1
        }
        return finished
    }

    /// fsync → ffprobe → thumbnail → row `complete` for `{device}/{name}`, counted under
    /// `outcome`; an unplayable file is removed, its row (if any) marked `deleted` with
    /// reason `partial`, and counted as deleted (`partial`).
    func catalogue(device: String, name: String, outcome: String) async {
        let relative = "\(device)/\(name)"
        let path = absolute(relative)
        do {
            try MediaTools.fsync(path)
            let probe = try await media.probe(path)
            var thumbnail: String? = RecordingPlan.thumbnailPath(of: relative)
            do {
                try await media.thumbnail(of: path, to: RecordingPlan.thumbnailPath(of: path))
            } catch {
                thumbnail = nil
                logger.warning("no thumbnail", metadata: ["device": "\(device)", "segment": "\(name)", "error": "\(error)"])
            }
            let ended = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            try await store.insertComplete(device: device, endedAt: ended, probe: probe, bytes: Self.size(path), path: relative,
                                           thumbnailPath: thumbnail)
            metrics.recordingSegment(outcome)
        } catch let error as RecordingError where error.code == .unplayable {
            let bytes = Self.size(path)
            do { try await store.markPartial(path: relative) } catch {
                logger.warning("partial segment's row not marked", metadata: ["device": "\(device)", "segment": "\(name)", "error": "\(error)"])
            }
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: RecordingPlan.thumbnailPath(of: path))
            metrics.recordingSegment("unplayable")
            metrics.recordingDeleted(reason: "partial", bytes: bytes)
            logger.warning("unplayable segment removed", metadata: ["device": "\(device)", "segment": "\(name)"])
        } catch {
            logger.error("segment not catalogued", metadata: ["device": "\(device)", "segment": "\(name)", "error": "\(error)"])
        }
    }

    /// Marks the row deleted, then removes its segment and thumbnail; false when another
    /// deletion got there first.
    @discardableResult
    func delete(id: Int64, reason: String) async throws -> Bool {
        guard let recording = try await store.markDeleted(id: id, reason: reason) else { return false }
        try? FileManager.default.removeItem(atPath: absolute(recording.path))
        if let thumbnail = recording.thumbnailPath { try? FileManager.default.removeItem(atPath: absolute(thumbnail)) }
        metrics.recordingDeleted(reason: reason, bytes: recording.bytes)
        return true
    }

    struct ScanResult: Sendable, Equatable {
        var adopted = 0
        var removed = 0
        var missing = 0
    }

    /// Files without a row are adopted (when playable) or removed per `recordings.orphans`;
    /// files of deleted rows and stray thumbnails are removed; rows whose file is gone
    /// become `missing`. Files modified in the last two segment lengths plus 30 s are left
    /// alone: an engine may be writing them.
    func scanOrphans(now: Date = Date()) async throws -> ScanResult {
        var result = ScanResult()
        let present = try await store.present()
        let known = try await store.knownPaths()
        let presentPaths = Set(present.map(\.path))
        for recording in present where recording.state == "complete" && !FileManager.default.fileExists(atPath: absolute(recording.path)) {
            try await store.markMissing(id: recording.id)
            metrics.recordingSegment("missing")
            result.missing += 1
        }
        let quiet = Double(settings.segmentSeconds * 2 + 30)
        let devices = ((try? FileManager.default.contentsOfDirectory(atPath: settings.directory)) ?? []).filter { DeviceID($0) != nil }
        for device in devices.sorted() {
            let directory = absolute(device)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let relative = "\(device)/\(name)"
                let path = absolute(relative)
                let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
                guard now.timeIntervalSince(modified) > quiet else { continue }
                if name.hasSuffix(".jpg") {
                    let segment = String(relative.dropLast(".jpg".count)) + ".mp4"
                    if !presentPaths.contains(segment), !FileManager.default.fileExists(atPath: absolute(segment)) {
                        try? FileManager.default.removeItem(atPath: path)
                    }
                    continue
                }
                if presentPaths.contains(relative) { continue }
                if known.contains(relative) || settings.orphans == "remove" || !name.hasSuffix(".mp4") {
                    let bytes = Self.size(path)
                    try? FileManager.default.removeItem(atPath: path)
                    try? FileManager.default.removeItem(atPath: RecordingPlan.thumbnailPath(of: path))
                    metrics.recordingDeleted(reason: "orphan", bytes: bytes)
                    result.removed += 1
                } else {
                    await catalogue(device: device, name: name, outcome: "adopted")
                    if try await store.knownPaths().contains(relative) { result.adopted += 1 } else { result.removed += 1 }
                }
            }
        }
        if result != ScanResult() {
            logger.info("orphan scan", metadata: ["adopted": "\(result.adopted)", "removed": "\(result.removed)", "missing": "\(result.missing)"])
        }
        return result
    }
}
