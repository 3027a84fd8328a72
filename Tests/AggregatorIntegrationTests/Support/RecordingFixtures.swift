import Foundation
import Synchronization
import TestHarness

/// Catalogued segments without a recorder: a real MP4 and JPEG made by ffmpeg, and their row.
enum RecordingFixtures {
    /// A 2 s 320x240 H.264 MP4 (moov first) of testsrc2, made once per process.
    static var sampleSegment: Data {
        get async {
            if let made = madeSegment.withLock({ $0 }) { return made }
            let directory = NSTemporaryDirectory() + "outpost-recording-sample-\(UUID().uuidString)"
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/sample.mp4"
            _ = try? await runTool(try locateTool("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                                                            "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "30", "-movflags", "+faststart", file])
            let made = FileManager.default.contents(atPath: file) ?? Data()
            return madeSegment.withLock { kept in
                if kept == nil { kept = made }
                return kept ?? made
            }
        }
    }

    /// The first ``sampleSegment`` made; tests side by side may each make one, and all use this.
    private static let madeSegment = Mutex<Data?>(nil)

    /// A JPEG stand-in thumbnail: the JPEG start and end markers around some bytes.
    static let sampleThumbnail = Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x42, count: 60) + [0xFF, 0xD9])

    /// Inserts camera `device` (if new), writes a segment and thumbnail under `env`'s
    /// recordings directory, and catalogues it complete; returns the row id.
    static func insertSegment(device: String, env: APITestEnvironment, startedAt: String = "now() - interval '1 hour'") async throws -> Int64 {
        let directory = env.recordingsDirectory + "/" + device
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = "\(UUID().uuidString.lowercased())"
        let segment = await sampleSegment
        guard FileManager.default.createFile(atPath: "\(directory)/\(name).mp4", contents: segment),
              FileManager.default.createFile(atPath: "\(directory)/\(name).jpg", contents: sampleThumbnail)
        else { throw HarnessError("cannot write a sample segment in \(directory)") }
        let id = try await env.psql("""
            INSERT INTO devices (id, kind) VALUES ('\(device)', 'camera') ON CONFLICT (id) DO NOTHING;
            INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state)
            VALUES ('\(device)', \(startedAt), \(startedAt) + interval '2 seconds', 2000, \(segment.count), '\(device)/\(name).mp4',
                    '\(device)/\(name).jpg', 'h264', 320, 240, 'complete') RETURNING id
            """)
        guard let value = id.split(separator: "\n").compactMap({ Int64($0) }).last else { throw HarnessError("no recording id: \(id)") }
        return value
    }
}
