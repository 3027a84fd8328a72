import Foundation
import Logging
@testable import OutpostAggregator
import OutpostMQTT
import Testing

/// With recording on, a missing ffmpeg or ffprobe stops the aggregator at start with a typed
/// error (`recording_tool_missing`) instead of a recorder that retries forever.
@Suite("Recording's tools checked at start")
struct RecordingStartupTests {
    static func configuration(_ recordings: RecordingSettings) -> AggregatorConfiguration {
        AggregatorConfiguration(
            instanceID: "a1", mqtt: BrokerSettings(caFile: "/nonexistent/ca.pem", certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem"),
            postgres: PostgresSettings(), http: HTTPSettings(certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem"),
            recordings: recordings)
    }

    @Test("recordings enabled with ffmpeg or ffprobe missing: buildAggregator throws recording_tool_missing naming the tool and its path",
          arguments: ["ffmpeg", "ffprobe"])
    func missingTool(_ tool: String) throws {
        var recordings = RecordingSettings(enabled: true, directory: NSTemporaryDirectory() + "outpost-startup-\(getpid())")
        recordings.ffmpegPath = tool == "ffmpeg" ? "/nonexistent/ffmpeg" : "/bin/true"
        recordings.ffprobePath = tool == "ffprobe" ? "/nonexistent/ffprobe" : "/bin/true"
        let error = #expect(throws: RecordingError.self) {
            _ = try buildAggregator(configuration: Self.configuration(recordings), logger: Logger(label: "test.startup"))
        }
        #expect(error?.code == .toolMissing)
        #expect(error?.code.rawValue == "recording_tool_missing")
        #expect(error?.context.contains("/nonexistent/\(tool)") == true, "\(error?.context ?? "")")
        #expect(error?.context.contains("recordings.\(tool)_path") == true)
    }

    @Test("a C library without posix_spawn_file_actions_addclosefrom_np: recording_spawn_unsupported at start, not a failed spawn per segment")
    func spawnUnsupported() throws {
        var recordings = RecordingSettings(enabled: true, directory: NSTemporaryDirectory() + "outpost-startup-\(getpid())")
        recordings.ffmpegPath = "/bin/true"
        recordings.ffprobePath = "/bin/true"
        let error = #expect(throws: RecordingError.self) { try MediaTools.check(recordings, spawnClosesDescriptors: false) }
        #expect(error?.code == .spawnUnsupported)
        #expect(error?.code.rawValue == "recording_spawn_unsupported")
        #expect(error?.context.contains("posix_spawn_file_actions_addclosefrom_np") == true, "\(error?.context ?? "")")
        try MediaTools.check(recordings, spawnClosesDescriptors: true)
        #expect(EngineProcess.closesInheritedDescriptors, "glibc 2.34 and later (Debian 12: 2.36) have it")
        recordings.enabled = false
        try MediaTools.check(recordings, spawnClosesDescriptors: false)
    }

    @Test("recordings off: missing tools do not matter (the build gets past the check to the next missing file)")
    func offIsNotChecked() throws {
        var recordings = RecordingSettings(enabled: false)
        recordings.ffmpegPath = "/nonexistent/ffmpeg"
        do {
            _ = try buildAggregator(configuration: Self.configuration(recordings), logger: Logger(label: "test.startup"))
        } catch let error as RecordingError {
            Issue.record("recording off, yet: \(error)")
        } catch {}
    }
}
