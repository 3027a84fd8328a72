import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `PUT /devices/{id}/recording`: `mode` (`off`, `continuous`, `on_demand`), for
/// `on_demand` `durationSeconds` (10–86400, default 3600; the other modes ignore it), and
/// optional `quotaBytes` and `maxAgeDays` that tighten the global retention limits for this
/// camera (absent removes them).
struct RecordingSettingRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["mode", "durationSeconds", "quotaBytes", "maxAgeDays"]
    static let defaultOnDemandSeconds = 3_600
    let mode: String
    let durationSeconds: Int?
    let quotaBytes: Int64?
    let maxAgeDays: Int?

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        mode = try container.decode(String.self, forKey: AnyKey(stringValue: "mode"))
        guard ["off", "continuous", "on_demand"].contains(mode) else { throw APIError.validation("mode must be off, continuous or on_demand") }
        let duration = try container.decodeOptional(Int.self, "durationSeconds")
        if let duration, !(10...86_400).contains(duration) { throw APIError.validation("durationSeconds must be 10-86400") }
        durationSeconds = mode == "on_demand" ? duration ?? Self.defaultOnDemandSeconds : nil
        quotaBytes = try container.decodeOptional(Int64.self, "quotaBytes")
        if let quotaBytes, !(1_048_576...Int64(1) << 50).contains(quotaBytes) { throw APIError.validation("quotaBytes must be 1 MiB to 1 PiB") }
        maxAgeDays = try container.decodeOptional(Int.self, "maxAgeDays")
        if let maxAgeDays, !(1...36_500).contains(maxAgeDays) { throw APIError.validation("maxAgeDays must be 1-36500") }
    }
}

/// One segment as the API shows it, with the paths of its video and thumbnail.
struct RecordingResponse: Encodable, Sendable {
    let recording: RecordingsStore.Recording

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        let r = recording
        try container.encode(String(r.id), forKey: AnyKey(stringValue: "id"))
        try container.encode(r.device, forKey: AnyKey(stringValue: "device"))
        try container.encode(r.startedAt, forKey: AnyKey(stringValue: "startedAt"))
        try container.encode(r.endedAt, forKey: AnyKey(stringValue: "endedAt"))
        try container.encode(r.durationMs, forKey: AnyKey(stringValue: "durationMs"))
        try container.encode(r.bytes, forKey: AnyKey(stringValue: "bytes"))
        try container.encode(r.codec, forKey: AnyKey(stringValue: "codec"))
        try container.encode(r.width, forKey: AnyKey(stringValue: "width"))
        try container.encode(r.height, forKey: AnyKey(stringValue: "height"))
        try container.encode(r.state, forKey: AnyKey(stringValue: "state"))
        try container.encode("\(AdminAPI.prefix)/recordings/\(r.id)/video", forKey: AnyKey(stringValue: "videoPath"))
        try container.encode(r.thumbnailPath == nil ? nil : "\(AdminAPI.prefix)/recordings/\(r.id)/thumbnail",
                             forKey: AnyKey(stringValue: "thumbnailPath"))
    }
}

/// A camera's recording mode and limits (defaults when never set) and its storage totals.
struct RecordingSettingResponse: Encodable, Sendable {
    let device: String
    let setting: RecordingsStore.DeviceSetting?
    let bytes: Int64
    let segments: Int64
    let oldest: Date?
    let deletions: [String: Int64]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(device, forKey: AnyKey(stringValue: "device"))
        try container.encode(setting?.mode ?? "off", forKey: AnyKey(stringValue: "mode"))
        try container.encode(setting?.until, forKey: AnyKey(stringValue: "until"))
        try container.encode(setting?.quotaBytes, forKey: AnyKey(stringValue: "quotaBytes"))
        try container.encode(setting?.maxAgeDays, forKey: AnyKey(stringValue: "maxAgeDays"))
        try container.encode(setting?.updatedAt, forKey: AnyKey(stringValue: "updatedAt"))
        try container.encode(setting?.updatedBy, forKey: AnyKey(stringValue: "updatedBy"))
        try container.encode(bytes, forKey: AnyKey(stringValue: "bytes"))
        try container.encode(segments, forKey: AnyKey(stringValue: "segments"))
        try container.encode(oldest, forKey: AnyKey(stringValue: "oldestStartedAt"))
        try container.encode(deletions, forKey: AnyKey(stringValue: "deletions"))
    }
}

/// Every camera's recordings together: bytes, segments, the oldest, deletions by reason,
/// and the filesystem's free bytes against the floor.
struct RecordingStorageResponse: Encodable, Sendable {
    let bytes: Int64
    let segments: Int64
    let oldest: Date?
    let deletions: [String: Int64]
    let freeBytes: Int64?
    let floorBytes: Int64?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(bytes, forKey: AnyKey(stringValue: "bytes"))
        try container.encode(segments, forKey: AnyKey(stringValue: "segments"))
        try container.encode(oldest, forKey: AnyKey(stringValue: "oldestStartedAt"))
        try container.encode(deletions, forKey: AnyKey(stringValue: "deletions"))
        try container.encode(freeBytes, forKey: AnyKey(stringValue: "freeBytes"))
        try container.encode(floorBytes, forKey: AnyKey(stringValue: "floorBytes"))
    }
}

extension AdminAPI {
    func requireRecordings() throws -> RecordingLibrary {
        guard let recordings else {
            throw APIError(.serviceUnavailable, APIError.Code("recordings_unavailable"), "recordings are not enabled (recordings.enabled)")
        }
        return recordings
    }

    private static func recordingID(_ context: AppRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(cursorText: Substring(text)) else {
            throw APIError(.badRequest, .invalidParameter, "id must be a recording id (digits)")
        }
        return id
    }

    func addRecordingRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices/{id}/recordings") { request, context in
            let library = try requireRecordings()
            let query = try request.queryParameters(allowing: ["from", "to", "cursor", "limit"])
            let limit = try QueryValue.limit(query, maximum: Self.maximumPageSize)
            let from = try QueryValue.date(query, "from"), to = try QueryValue.date(query, "to")
            let after = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: RecordingsStore.Position.self) }
            let device = try await existingDevice(context)
            let found = try await library.store.list(device: device, from: from, to: to, after: after, limit: limit + 1)
            let page = Array(found.prefix(limit))
            let next = found.count > limit ? page.last.map { Cursor.encode($0.1) } : nil
            return try .json(Page(items: page.map { RecordingResponse(recording: $0.0) }, nextCursor: next))
        }
        on(.delete, "/devices/{id}/recordings") { request, context in
            let library = try requireRecordings()
            let query = try request.queryParameters(allowing: ["from", "to"])
            guard let from = try QueryValue.date(query, "from") else { throw APIError.invalidParameter("from", "is required") }
            guard let to = try QueryValue.date(query, "to") else { throw APIError.invalidParameter("to", "is required") }
            let device = try await existingDevice(context)
            var deleted = 0
            for id in try await library.store.ids(device: device, from: from, to: to) where try await library.delete(id: id, reason: "manual") {
                deleted += 1
            }
            try await audit.record("recording.delete", target: "device:\(device)", detail: [
                "from": APIJSON.timestamp(from), "to": APIJSON.timestamp(to), "deleted": "\(deleted)"], origin: origin(context))
            return try .json(["deleted": deleted])
        }
        on(.get, "/devices/{id}/recording") { request, context in
            let library = try requireRecordings()
            _ = try request.queryParameters(allowing: [])
            let device = try await existingDevice(context)
            let totals = try await library.store.totals(device: device)
            return try .json(RecordingSettingResponse(device: device, setting: try await library.store.setting(device: device), bytes: totals.bytes,
                                                      segments: totals.segments, oldest: totals.oldest,
                                                      deletions: try await library.store.deletions(device: device)))
        }
        on(.put, "/devices/{id}/recording") { request, context in
            let library = try requireRecordings()
            let body = try await request.decodeJSON(RecordingSettingRequest.self, limit: settings.maxBodyBytes)
            let device = try await existingDevice(context)
            guard try await devices.get(device)?.kind == "camera" else { throw APIError(.conflict, .conflict, "device \(device) is not a camera") }
            let until = body.durationSeconds.map { Date().addingTimeInterval(Double($0)) }
            let origin = origin(context)
            guard let setting = try await library.store.putSetting(device: device, mode: body.mode, until: until, quotaBytes: body.quotaBytes,
                                                                   maxAgeDays: body.maxAgeDays, by: origin.actor)
            else { throw APIError.notFound("device") }
            var detail = ["mode": body.mode]
            if let until { detail["until"] = APIJSON.timestamp(until) }
            if let quota = body.quotaBytes { detail["quotaBytes"] = "\(quota)" }
            if let days = body.maxAgeDays { detail["maxAgeDays"] = "\(days)" }
            try await audit.record("recording.settings", target: "device:\(device)", detail: detail, origin: origin)
            let totals = try await library.store.totals(device: device)
            return try .json(RecordingSettingResponse(device: device, setting: setting, bytes: totals.bytes, segments: totals.segments,
                                                      oldest: totals.oldest, deletions: try await library.store.deletions(device: device)))
        }
        on(.get, "/recording-storage") { request, _ in
            let library = try requireRecordings()
            _ = try request.queryParameters(allowing: [])
            let totals = try await library.store.totals(device: nil)
            let disk = RetentionService.disk(library.settings.directory)
            let floor = disk.map { max(library.settings.floorBytes, Int64((Double($0.totalBytes) * library.settings.floorPercent / 100).rounded(.up))) }
            return try .json(RecordingStorageResponse(bytes: totals.bytes, segments: totals.segments, oldest: totals.oldest,
                                                      deletions: try await library.store.deletions(device: nil), freeBytes: disk?.freeBytes,
                                                      floorBytes: floor))
        }
        on(.delete, "/recordings/{id}") { request, context in
            let library = try requireRecordings()
            _ = try request.queryParameters(allowing: [])
            let id = try Self.recordingID(context)
            guard let recording = try await library.store.get(id: id), recording.state != "deleted" else { throw APIError.notFound("recording") }
            guard try await library.delete(id: id, reason: "manual") else { throw APIError.notFound("recording") }
            try await audit.record("recording.delete", target: "device:\(recording.device)", detail: [
                "recording": "\(id)", "startedAt": APIJSON.timestamp(recording.startedAt)], origin: origin(context))
            return Response(status: .noContent)
        }
        on(.get, "/recordings/{id}/video") { request, context in
            try await serveFile(request, context, contentType: "video/mp4") { $0.path }
        }
        on(.get, "/recordings/{id}/thumbnail") { request, context in
            try await serveFile(request, context, contentType: "image/jpeg") { $0.thumbnailPath }
        }
    }

    /// A segment's file with HTTP Range: 200 whole, 206 one range, 416 outside the file.
    private func serveFile(_ request: Request, _ context: AppRequestContext, contentType: String,
                           file: (RecordingsStore.Recording) -> String?) async throws -> Response {
        let library = try requireRecordings()
        _ = try request.queryParameters(allowing: [])
        let id = try Self.recordingID(context)
        guard let recording = try await library.store.get(id: id), recording.state == "complete", let relative = file(recording) else {
            throw APIError.notFound("recording")
        }
        let path = library.absolute(relative)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw APIError.notFound("recording file") }
        let size = Int64(try handle.seekToEnd())
        var headers: HTTPFields = [.contentType: contentType, .acceptRanges: "bytes", .cacheControl: "private, max-age=3600"]
        let range: ClosedRange<Int64>
        let status: HTTPResponse.Status
        switch ByteRange.resolve(request.headers[.range], size: size) {
        case .whole:
            range = 0...max(size - 1, 0)
            status = .ok
        case .partial(let bytes):
            range = bytes
            status = .partialContent
            headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)"
        case .unsatisfiable:
            try? handle.close()
            throw APIError(.rangeNotSatisfiable, APIError.Code("range_not_satisfiable"), "the range is outside the file's \(size) bytes",
                           headers: [.contentRange: "bytes */\(size)"])
        }
        let length = size == 0 ? 0 : Int(range.upperBound - range.lowerBound + 1)
        headers[.contentLength] = "\(length)"
        try handle.seek(toOffset: UInt64(range.lowerBound))
        let body = ResponseBody(contentLength: length) { writer in
            defer { try? handle.close() }
            var left = length
            while left > 0 {
                let chunk = try handle.read(upToCount: min(left, 65_536)) ?? Data()
                guard !chunk.isEmpty else { break }
                left -= chunk.count
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}
