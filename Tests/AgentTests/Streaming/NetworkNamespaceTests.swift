import Foundation
import Testing
import TestHarness
@testable import OutpostAgent

/// Two network namespaces joined by a veth pair, made by the test and removed after it.
struct NamespacePair {
    let sender: String
    let receiver: String
    static let senderAddress = "10.213.7.1"
    static let receiverAddress = "10.213.7.2"

    /// Creating namespaces needs root (CAP_SYS_ADMIN) and iproute2.
    static var available: Bool {
        guard geteuid() == 0, let ip = try? locateTool("ip") else { return false }
        let probe = "outpost-probe-\(getpid())"
        guard (try? runTool(ip, ["netns", "add", probe])) != nil else { return false }
        _ = try? runTool(ip, ["netns", "del", probe])
        return true
    }

    init() throws {
        let ip = try locateTool("ip")
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        sender = "outpost-a-\(tag)"
        receiver = "outpost-b-\(tag)"
        let vethA = "opa\(UInt16.random(in: 0...UInt16.max))"
        let vethB = "opb\(UInt16.random(in: 0...UInt16.max))"
        try runTool(ip, ["netns", "add", sender])
        try runTool(ip, ["netns", "add", receiver])
        try runTool(ip, ["link", "add", vethA, "netns", sender, "type", "veth", "peer", "name", vethB, "netns", receiver])
        for (namespace, device, address) in [(sender, vethA, Self.senderAddress), (receiver, vethB, Self.receiverAddress)] {
            try runTool(ip, ["-n", namespace, "addr", "add", "\(address)/24", "dev", device])
            try runTool(ip, ["-n", namespace, "link", "set", device, "up"])
            try runTool(ip, ["-n", namespace, "link", "set", "lo", "up"])
        }
    }

    func remove() {
        guard let ip = try? locateTool("ip") else { return }
        _ = try? runTool(ip, ["netns", "del", sender])
        _ = try? runTool(ip, ["netns", "del", receiver])
    }
}

@Suite("SDP address across a real network", .serialized, .timeLimit(.minutes(2)))
struct NetworkNamespaceTests {
    /// The built `outpost-agent` beside the test bundle.
    static var agentExecutable: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/debug/outpost-agent")
            .standardizedFileURL.path
    }

    @Test("streaming to a non-loopback destination, the SDP holds the host's address on that network and a receiver there decodes the stream",
          .enabled(if: NamespacePair.available, "needs root and `ip netns` to create a network namespace pair"))
    func sdpCarriesTheRoutedAddress() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.agentExecutable), "build first: swift build --build-tests")
        let directory = try TemporaryDirectory(prefix: "outpost-netns")
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let file = try StreamFixtures.smallStream(in: directory)
        let namespaces = try NamespacePair()
        defer { namespaces.remove() }
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

        let status = await agent.stop(signal: SIGTERM)
        #expect(status == 0, "agent exit status \(status): \(agent.log)")
        #expect(agent.log.contains("\"state\":\"stopped\""))
    }
}
