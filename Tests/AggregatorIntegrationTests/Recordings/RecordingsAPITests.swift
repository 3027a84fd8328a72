import Foundation
@testable import OutpostAggregator
import OutpostSupport
import Testing

@Suite("Recordings API over a real PostgreSQL", .serialized)
struct RecordingsAPITests {
    @Test("list by time range with cursors; video with Range: 206 and the exact bytes, 416 outside; thumbnail; the viewer cannot delete (403); an operator's deletion is audited, its files go and /metrics counts it")
    func listRangeDelete() async throws {
        try await APITestEnvironment.with { env in
            let viewer = try await env.createAPIKey(role: .viewer), operatorKey = try await env.createAPIKey(role: .operator)
            var ids: [Int64] = []
            for minutesAgo in [50, 40, 30, 20, 10] {
                ids.append(try await RecordingFixtures.insertSegment(device: "cam-api", env: env, startedAt: "now() - interval '\(minutesAgo) minutes'"))
            }

            // Pages of two, oldest first; a time range narrows it.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await env.send(.GET, "/api/v1/devices/cam-api/recordings?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: viewer)
                #expect(page.status == 200, "\(page.text)")
                seen += page.json["items"]?.arrayItems.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page.json["nextCursor"]?.stringValue
            } while cursor != nil && seen.count < 10
            #expect(seen == ids.map(String.init))
            let from = APIJSON.timestamp(Date().addingTimeInterval(-35 * 60)), to = APIJSON.timestamp(Date().addingTimeInterval(-15 * 60))
            let ranged = try await env.send(.GET, "/api/v1/devices/cam-api/recordings?from=\(from)&to=\(to)", token: viewer)
            #expect(ranged.json["items"]?.arrayItems.compactMap { $0["id"]?.stringValue } == [String(ids[2]), String(ids[3])])
            let first = try #require(ranged.json["items"]?.arrayItems.first)
            #expect(first["videoPath"]?.stringValue == "/api/v1/recordings/\(ids[2])/video")
            #expect(first["codec"]?.stringValue == "h264")
            #expect(try await env.send(.GET, "/api/v1/devices/cam-api/recordings?cursor=nonsense", token: viewer).errorCode == "invalid_cursor")

            // Range: the bytes asked for, and only them.
            let whole = await RecordingFixtures.sampleSegment
            #expect(whole.count > 10_000)
            let video = "/api/v1/recordings/\(ids[0])/video"
            let full = try await env.send(.GET, video, token: viewer)
            #expect(full.status == 200)
            #expect(full.body == whole)
            #expect(full.headers.first(name: "accept-ranges") == "bytes")
            #expect(full.headers.first(name: "content-type") == "video/mp4")
            let part = try await env.send(.GET, video, token: viewer, headers: [("Range", "bytes=100-1123")])
            #expect(part.status == 206)
            #expect(part.body == whole[100...1123])
            #expect(part.headers.first(name: "content-range") == "bytes 100-1123/\(whole.count)")
            let tail = try await env.send(.GET, video, token: viewer, headers: [("Range", "bytes=-500")])
            #expect(tail.status == 206)
            #expect(tail.body == whole.suffix(500))
            let outside = try await env.send(.GET, video, token: viewer, headers: [("Range", "bytes=\(whole.count)-")])
            #expect(outside.status == 416)
            #expect(outside.errorCode == "range_not_satisfiable")
            #expect(outside.headers.first(name: "content-range") == "bytes */\(whole.count)")
            let thumbnail = try await env.send(.GET, "/api/v1/recordings/\(ids[0])/thumbnail", token: viewer)
            #expect(thumbnail.status == 200)
            #expect(thumbnail.body == RecordingFixtures.sampleThumbnail)
            #expect(try await env.send(.GET, "/api/v1/recordings/99999999/video", token: viewer).status == 404)

            // Delete: viewers may not; an operator's is audited and removes the files.
            let refused = try await env.send(.DELETE, "/api/v1/recordings/\(ids[0])", token: viewer)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "forbidden")
            let path = try await env.psql("SELECT path FROM recordings WHERE id = \(ids[0])")
            #expect(FileManager.default.fileExists(atPath: env.recordingsDirectory + "/" + path))
            #expect(try await env.send(.DELETE, "/api/v1/recordings/\(ids[0])", token: operatorKey).status == 204)
            #expect(!FileManager.default.fileExists(atPath: env.recordingsDirectory + "/" + path))
            #expect(try await env.psql("SELECT state || ' ' || deleted_reason FROM recordings WHERE id = \(ids[0])") == "deleted manual")
            #expect(try await env.psql("SELECT count(*) FROM audit_log WHERE action = 'recording.delete' AND details->>'recording' = '\(ids[0])'") == "1")
            #expect(try await env.send(.GET, video, token: viewer).status == 404)
            #expect(try await env.send(.DELETE, "/api/v1/recordings/\(ids[0])", token: operatorKey).status == 404)

            // A range: the two oldest left.
            let cut = APIJSON.timestamp(Date().addingTimeInterval(-25 * 60))
            let range = try await env.send(.DELETE, "/api/v1/devices/cam-api/recordings?from=2020-01-01T00:00:00Z&to=\(cut)", token: operatorKey)
            #expect(range.status == 200)
            #expect(range.json["deleted"]?.intValue == 2)
            let empty = try await env.send(.DELETE, "/api/v1/devices/cam-api/recordings?from=\(cut)&to=2020-01-01T00:00:00Z", token: operatorKey)
            #expect(empty.status == 200, "an empty range deletes nothing")
            #expect(empty.json["deleted"]?.intValue == 0)
            #expect(try await env.psql("SELECT count(*) FROM recordings WHERE state = 'complete'") == "2")
            #expect(env.metrics.render().contains("outpost_recordings_deleted_total{reason=\"manual\"} 3"))

            let storage = try await env.send(.GET, "/api/v1/recording-storage", token: viewer)
            #expect(storage.status == 200)
            #expect(storage.json["segments"]?.intValue == 2)
            #expect(storage.json["bytes"]?.intValue == 2 * whole.count)
            #expect(storage.json["deletions"]?["manual"]?.intValue == 3)
        }
    }

    @Test("recording mode: continuous, on_demand for a duration (an hour by default), limits validated, only cameras, audited; a viewer cannot set it")
    func settings() async throws {
        try await APITestEnvironment.with { env in
            let viewer = try await env.createAPIKey(role: .viewer), operatorKey = try await env.createAPIKey(role: .operator)
            try await env.psql("INSERT INTO devices (id, kind) VALUES ('cam-set', 'camera'), ('meter-set', 'meter')")
            let path = "/api/v1/devices/cam-set/recording"
            let initial = try await env.send(.GET, path, token: viewer)
            #expect(initial.json["mode"]?.stringValue == "off")
            #expect(try await env.send(.PUT, path, token: viewer, json: ["mode": "continuous"]).status == 403)
            let set = try await env.send(.PUT, path, token: operatorKey, json: ["mode": "continuous", "quotaBytes": 104_857_600, "maxAgeDays": 7])
            #expect(set.status == 200, "\(set.text)")
            #expect(set.json["mode"]?.stringValue == "continuous")
            #expect(set.json["quotaBytes"]?.intValue == 104_857_600)
            #expect(set.json["maxAgeDays"]?.intValue == 7)
            #expect(try await env.send(.PUT, path, token: operatorKey, json: ["mode": "on_demand", "durationSeconds": 5]).errorCode == "validation_failed")
            let ignored = try await env.send(.PUT, path, token: operatorKey, json: ["mode": "continuous", "durationSeconds": 60])
            #expect(ignored.status == 200)
            #expect(ignored.json["until"] == .null, "durationSeconds is for on_demand only")
            let byDefault = try await env.send(.PUT, path, token: operatorKey, json: ["mode": "on_demand"])
            let until = try #require(byDefault.json["until"]?.stringValue.flatMap(RFC3339.parse))
            #expect(abs(until.timeIntervalSinceNow - 3_600) < 60, "on_demand defaults to an hour")
            #expect(try await env.send(.PUT, path, token: operatorKey, json: ["mode": "sometimes"]).status == 422)
            #expect(try await env.send(.PUT, path, token: operatorKey, json: ["mode": "off", "quotaBytes": 5]).status == 422)
            #expect(try await env.send(.PUT, path, token: operatorKey, json: ["mode": "off", "extra": 1]).status == 422)
            let demand = try await env.send(.PUT, path, token: operatorKey, json: ["mode": "on_demand", "durationSeconds": 600])
            #expect(demand.status == 200)
            #expect(demand.json["until"]?.stringValue != nil)
            let meter = try await env.send(.PUT, "/api/v1/devices/meter-set/recording", token: operatorKey, json: ["mode": "continuous"])
            #expect(meter.status == 409)
            #expect(try await env.psql("SELECT count(*) FROM audit_log WHERE action = 'recording.settings'") == "4")
        }
    }

    @Test("byte ranges: a=b, a-, -n, several (whole), outside (416), malformed (whole)")
    func byteRanges() {
        #expect(ByteRange.resolve(nil, size: 100) == .whole)
        #expect(ByteRange.resolve("bytes=0-9", size: 100) == .partial(0...9))
        #expect(ByteRange.resolve("bytes=90-", size: 100) == .partial(90...99))
        #expect(ByteRange.resolve("bytes=90-500", size: 100) == .partial(90...99))
        #expect(ByteRange.resolve("bytes=-10", size: 100) == .partial(90...99))
        #expect(ByteRange.resolve("bytes=-1000", size: 100) == .partial(0...99))
        #expect(ByteRange.resolve("bytes=0-1,5-6", size: 100) == .whole)
        #expect(ByteRange.resolve("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.resolve("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.resolve("bytes=5-3", size: 100) == .whole)
        #expect(ByteRange.resolve("items=0-1", size: 100) == .whole)
        #expect(ByteRange.resolve("bytes=x-1", size: 100) == .whole)
    }
}

extension JSONValue {
    /// The elements of an array (empty for anything else).
    var arrayItems: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
