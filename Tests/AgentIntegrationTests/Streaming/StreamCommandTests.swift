import Foundation
import Testing
import TestHarness
@testable import OutpostAgent

/// The `outpost-agent stream` executable: across a real network, and on bad input.
@Suite("outpost-agent stream", .serialized, .timeLimit(.minutes(2)))
struct StreamCommandTests {
    /// The built `outpost-agent` beside the test bundle.
    static var agentExecutable: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/debug/outpost-agent")
            .standardizedFileURL.path
    }

    @Test("streaming to a non-loopback destination, the SDP holds the host's address on that network and a receiver there decodes the stream",
          .enabled("needs root and `ip netns` to create a network namespace pair") { await NamespacePair.available })
    func sdpCarriesTheRoutedAddress() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.agentExecutable), "build first: swift build --build-tests")
        let directory = try TemporaryDirectory(prefix: "outpost-netns")
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let file = try await StreamFixtures.smallStream(in: directory)
        let namespaces = try await NamespacePair()
        defer { Task { await namespaces.remove() } }
        let ip = try locateTool("ip")
        let sdpFile = directory.file("offer.sdp")
        let agent = try ServerProcess(
            name: "outpost-agent", executable: ip,
            arguments: ["netns", "exec", namespaces.sender, Self.agentExecutable, "stream", "--source", file, "--loop",
                        "--to", "\(NamespacePair.receiverAddress):5004", "--sdp-out", sdpFile, "--stats-interval", "1"],
            logPath: directory.file("agent.log"))
        defer { Task { await agent.stop() } }
        try await waitUntil(timeout: .seconds(30), "the SDP offer") {
            guard agent.isRunning else { throw HarnessError("the agent exited: \(agent.log)") }
            return FileManager.default.fileExists(atPath: sdpFile)
        }
        let sdp = try String(contentsOfFile: sdpFile, encoding: .utf8)
        let lines = sdp.split(separator: "\r\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("o=- ") && $0.hasSuffix(" IN IP4 \(NamespacePair.senderAddress)") })
        #expect(lines.contains("c=IN IP4 \(NamespacePair.senderAddress)"))
        #expect(lines.contains("m=video 5004 RTP/AVPF 96"))
        #expect(!sdp.contains("0.0.0.0") && !sdp.contains("127.0.0.1"))

        // A receiver in the other namespace decodes 30 pictures from the offer.
        let output = directory.file("received.md5")
        let ffmpeg = try ServerProcess(
            name: "ffmpeg", executable: ip,
            arguments: ["netns", "exec", namespaces.receiver, try locateTool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "fatal",
                        "-protocol_whitelist", "file,udp,rtp", "-i", sdpFile, "-frames:v", "30", "-f", "framemd5", output],
            logPath: directory.file("ffmpeg.log"))
        defer { Task { await ffmpeg.stop() } }
        try await waitUntil(timeout: .seconds(60), "ffmpeg in the receiver namespace to decode 30 pictures") { !ffmpeg.isRunning }
        #expect(try StreamFixtures.frameHashes(ofFramemd5: output).count == 30)
        await ffmpeg.stop()

        let status = await agent.stop(signal: SIGTERM)
        #expect(status == 0, "agent exit status \(status): \(agent.log)")
        #expect(agent.log.contains("\"state\":\"stopped\""))
    }

    @Test("the stream subcommand refuses bad arguments with a clear error and exit status 2")
    func badArguments() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.agentExecutable), "build first: swift build --build-tests")
        let directory = try TemporaryDirectory(prefix: "outpost-cli")
        defer { directory.remove() }
        let agent = try ServerProcess(name: "outpost-agent", executable: Self.agentExecutable,
                                      arguments: ["stream", "--source", "x.h264", "--to", "no-port-here"], logPath: directory.file("agent.log"))
        try await waitUntil(timeout: .seconds(30), "the agent to exit") { !agent.isRunning }
        let status = await agent.stop()
        #expect((status >> 8) & 0xFF == 2)
        #expect(agent.log.contains("error: invalid_request: --to must be HOST:PORT"))
    }
}
