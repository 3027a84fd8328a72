import Foundation
import Logging
import TestHarness
@testable import OutpostAgent
@testable import OutpostStreaming

/// H.264 test streams made by ffmpeg at test time, and helpers around real receivers.
enum StreamFixtures {
    /// 2 s of 320×240 at 30 fps, an IDR every second, no B-frames (as a camera encoder sends).
    static func smallStream(in directory: TemporaryDirectory) async throws -> String {
        try await encode(directory.file("small.h264"), ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2", "-c:v", "libx264",
                                                 "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p"])
    }

    /// 2 s of 640×480 intra-only at a near-lossless quantizer: about 30 KB per picture, so
    /// FU-A fragments dominate.
    static func largeStream(in directory: TemporaryDirectory) async throws -> String {
        try await encode(directory.file("large.h264"), ["-f", "lavfi", "-i", "testsrc2=size=640x480:rate=30", "-t", "2", "-c:v", "libx264",
                                                 "-g", "1", "-qp", "2", "-pix_fmt", "yuv420p"])
    }

    private static func encode(_ path: String, _ arguments: [String]) async throws -> String {
        try await runTool(locateTool("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-y"] + arguments
            + ["-threads", "1", "-bsf:v", "h264_mp4toannexb", "-f", "h264", path])
        return path
    }

    /// The MD5 of every decoded frame, in order (the hash column of `-f framemd5`).
    static func frameHashes(ofFramemd5 path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .compactMap { $0.split(separator: ",").last?.trimmingCharacters(in: .whitespaces) }
    }

    static func sourceFrameHashes(_ file: String, in directory: TemporaryDirectory) async throws -> [String] {
        let output = directory.file("\((file as NSString).lastPathComponent).md5")
        try await runTool(locateTool("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-y", "-i", file, "-fps_mode", "passthrough",
                                          "-f", "framemd5", output])
        return try frameHashes(ofFramemd5: output)
    }

    /// What the packetizer makes of a file: packets in total and FU-A packets among them.
    static func packetCounts(_ file: String) throws -> (packets: Int, fuA: Int) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        var parser = AnnexBParser()
        var assembler = AccessUnitAssembler()
        var tracker = ParameterSetTracker()
        var packetizer = H264Packetizer(ssrc: 1, firstSequenceNumber: 0)
        var accessUnits: [[H264NALUnit]] = []
        var units = parser.feed(bytes)
        if let last = parser.finish() { units.append(last) }
        for unit in units { if let accessUnit = assembler.append(unit) { accessUnits.append(accessUnit) } }
        if let last = assembler.finish() { accessUnits.append(last) }
        var packets: [[UInt8]] = []
        for accessUnit in accessUnits {
            accessUnit.forEach { tracker.observe($0) }
            packets += packetizer.packetize(accessUnit: accessUnit, timestamp: 0, parameterSets: tracker.current)
        }
        return (packets.count, packets.filter { $0[12] & 0x1F == 28 }.count)
    }

    /// ffmpeg receiving the stream that `sdpFile` describes (plain RTP, or SRTP with an SDES
    /// `a=crypto` line) and writing one MD5 per decoded frame to `output`; returned once it
    /// listens on `port`. It ends at the sender's RTCP BYE.
    static func framemd5Receiver(sdpFile: String, port: Int, output: String, in directory: TemporaryDirectory) async throws
        -> ServerProcess
    {
        let ffmpeg = try ServerProcess(
            name: "ffmpeg", executable: try locateTool("ffmpeg"),
            arguments: ["-hide_banner", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp,srtp", "-i", sdpFile,
                        "-fps_mode", "passthrough", "-f", "framemd5", output],
            logPath: directory.file("ffmpeg.log"))
        do {
            try await waitUntil(timeout: .seconds(30), "ffmpeg listening on UDP \(port)") {
                guard ffmpeg.isRunning else { throw HarnessError("ffmpeg exited: \(ffmpeg.log)") }
                return await isUDPPortBound(port)
            }
        } catch {
            await ffmpeg.stop()
            throw error
        }
        return ffmpeg
    }

    /// An even UDP port on 127.0.0.1 whose odd neighbour is free too (RTP and RTCP).
    static func freeUDPPortPair() throws -> Int {
        for _ in 0..<64 {
            let port = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4)).localAddress.port & ~1
            guard port > 1024, port < 65_000 else { continue }
            let rtp = try? UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: port, family: .ipv4))
            let rtcp = try? UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: port + 1, family: .ipv4))
            if rtp != nil, rtcp != nil { return port }
        }
        throw HarnessError("no free UDP port pair")
    }

    /// True when something has bound UDP `port` (any address), per /proc/net/udp of `namespace`.
    static func isUDPPortBound(_ port: Int, namespace: String? = nil) async -> Bool {
        let needle = String(format: ":%04X ", port)
        let tables: [String]
        if let namespace {
            tables = [(try? await runTool(locateTool("ip"), ["netns", "exec", namespace, "cat", "/proc/net/udp", "/proc/net/udp6"])) ?? ""]
        } else {
            tables = ["/proc/net/udp", "/proc/net/udp6"].map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
        }
        return tables.contains { table in
            table.split(separator: "\n").dropFirst().contains { line in
                let fields = line.split(separator: " ")
                return fields.count > 1 && (fields[1] + " ").hasSuffix(needle)
            }
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "test.stream")
        logger.logLevel = .info
        return logger
    }
}

/// A loopback UDP relay between the agent and a receiver that drops chosen packets, and
/// watches the RTP going through.
final class LossyRelay: @unchecked Sendable {
    let inbound: UDPSocket
    private let destination: SocketAddress
    private let dropIndices: Set<Int>
    private let lock = NSLock()
    private var running = true
    private var forwarded = 0
    private var dropped: [UInt16] = []
    private var stapTimestamps: Set<UInt32> = []
    private var resentBeforeNonIDR = 0
    private let done = DispatchSemaphore(value: 0)

    /// Forwards datagrams arriving on a fresh port to `destination`, dropping the
    /// packets at the (0-based) `dropIndices`.
    init(to destination: SocketAddress, dropIndices: Set<Int>) throws {
        inbound = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        self.destination = destination
        self.dropIndices = dropIndices
        let thread = Thread { [self] in loop() }
        thread.start()
    }

    var port: Int { inbound.localAddress.port }
    var droppedSequenceNumbers: [UInt16] { lock.withLock { dropped } }
    /// STAP-A packets (SPS+PPS) whose picture was not an IDR: re-sent for a keyframe request.
    var parameterSetsResentAheadOfNonIDR: Int { lock.withLock { resentBeforeNonIDR } }

    func stop() {
        lock.withLock { running = false }
        done.wait()
    }

    private func loop() {
        defer { done.signal() }
        var index = 0
        while lock.withLock({ running }) {
            var entry = pollfd(fd: inbound.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) > 0 else { continue }
            while let (bytes, _) = inbound.receive() {
                defer { index += 1 }
                observe(bytes)
                if dropIndices.contains(index), bytes.count >= 4 {
                    lock.withLock { dropped.append(UInt16(bytes[2]) << 8 | UInt16(bytes[3])) }
                    continue
                }
                inbound.send(bytes, to: destination)
            }
        }
    }

    private func observe(_ packet: [UInt8]) {
        guard let header = RTPHeader(parsing: packet), packet.count > 13 else { return }
        let type = packet[12] & 0x1F
        let nalType = type == 28 ? packet[13] & 0x1F : type
        lock.withLock {
            if type == 24 { stapTimestamps.insert(header.timestamp) }
            if nalType == 1, stapTimestamps.remove(header.timestamp) != nil { resentBeforeNonIDR += 1 }
            if nalType == 5 { stapTimestamps.remove(header.timestamp) }
        }
    }
}
