import Foundation
import OutpostSupport

/// ffprobe and ffmpeg run to completion on one segment: what it holds, and its thumbnail.
struct MediaTools: Sendable {
    struct Probe: Sendable, Equatable {
        var durationMs: Int
        var codec: String
        var width: Int
        var height: Int
    }

    let ffmpegPath: String
    let ffprobePath: String
    let thumbnailWidth: Int

    init(settings: RecordingSettings) {
        ffmpegPath = settings.ffmpegPath
        ffprobePath = settings.ffprobePath
        thumbnailWidth = settings.thumbnailWidth
    }

    /// With recording enabled, ffmpeg and ffprobe must be executables at their configured paths,
    /// and the C library must let ``EngineProcess`` spawn them without the aggregator's descriptors.
    ///
    /// - Parameter spawnClosesDescriptors: whether glibc has `posix_spawn_file_actions_addclosefrom_np`
    ///   (``EngineProcess/closesInheritedDescriptors``; a parameter so that tests can say no).
    /// - Throws: ``RecordingError/Code/toolMissing``, naming the tool, its path and its setting;
    ///   ``RecordingError/Code/spawnUnsupported`` when every engine spawn would fail.
    static func check(_ settings: RecordingSettings, spawnClosesDescriptors: Bool = EngineProcess.closesInheritedDescriptors)
        throws(RecordingError)
    {
        guard settings.enabled else { return }
        for (tool, path) in [("ffmpeg", settings.ffmpegPath), ("ffprobe", settings.ffprobePath)]
        where !FileManager.default.isExecutableFile(atPath: path) {
            throw RecordingError(.toolMissing, "recordings.enabled is set but \(tool) is not an executable at \(path) (recordings.\(tool)_path): "
                                 + "install ffmpeg (Debian: apt install ffmpeg) or turn recording off")
        }
        guard spawnClosesDescriptors else {
            throw RecordingError(.spawnUnsupported, "recordings.enabled is set but this C library has no posix_spawn_file_actions_addclosefrom_np "
                                 + "(glibc 2.34 or later), without which no media engine can be started: upgrade glibc or turn recording off")
        }
    }

    /// The segment's first video stream and duration.
    ///
    /// - Throws: ``RecordingError/Code/unplayable`` when ffprobe cannot read it (a segment
    ///   cut short before its `moov` box, for one) or it has no video.
    func probe(_ path: String) async throws -> Probe {
        let (status, output) = try await Self.run(ffprobePath, ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                               "stream=codec_name,width,height:format=duration", "-of", "json", path])
        guard status == 0, let json = try? JSONDecoder().decode(JSONValue.self, from: output),
              case .array(let streams)? = json["streams"], let stream = streams.first, let codec = stream["codec_name"]?.stringValue,
              let width = stream["width"]?.intValue, let height = stream["height"]?.intValue,
              let duration = json["format"]?["duration"]?.stringValue.flatMap(Double.init), duration > 0
        else {
            throw RecordingError(.unplayable, "ffprobe cannot read \(path): \(String(decoding: output.prefix(300), as: UTF8.self))")
        }
        return Probe(durationMs: Int((duration * 1_000).rounded()), codec: codec, width: width, height: height)
    }

    /// A JPEG of the segment's first keyframe, ``thumbnailWidth`` wide, written and fsynced at `output`.
    func thumbnail(of path: String, to output: String) async throws {
        let (status, log) = try await Self.run(ffmpegPath, [
            "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-skip_frame", "nokey", "-i", path, "-frames:v", "1",
            "-vf", "scale=\(thumbnailWidth):-2", "-q:v", "5", "-f", "image2", output,
        ])
        guard status == 0, FileManager.default.fileExists(atPath: output) else {
            throw RecordingError(.thumbnailFailed, "ffmpeg exited \(status): \(String(decoding: log.prefix(300), as: UTF8.self))")
        }
        try Self.fsync(output)
    }

    /// Flushes a file's data to the disk (and its directory entry).
    static func fsync(_ path: String) throws {
        for target in [path, (path as NSString).deletingLastPathComponent] {
            let fd = open(target, O_RDONLY)
            guard fd >= 0 else { throw RecordingError(.engineFailed, "open \(target) for fsync: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            guard Glibc.fsync(fd) == 0 else { throw RecordingError(.engineFailed, "fsync \(target): \(String(cString: strerror(errno)))") }
        }
    }

    /// Runs a tool to its end without blocking a cooperative thread; stdout and stderr together.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-tool-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw RecordingError(.engineFailed, "cannot write \(output.path)")
        }
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: RecordingError(.engineFailed, "\(executable): \(error)"))
            }
        }
        return (status, (try? Data(contentsOf: output)) ?? Data())
    }
}
