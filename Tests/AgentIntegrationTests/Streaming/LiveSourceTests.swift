import Foundation
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostSupport
@testable import OutpostWire
@testable import OutpostStreaming

@Suite("Live sources, bitrate adaptation and the feedback watchdog", .serialized, .timeLimit(.minutes(2)))
struct LiveSourceTests {
    /// A command source: ffmpeg encoding a test pattern in real time to stdout, at `{bitrate}`.
    static func encoderCommand() throws -> [String] {
        [try locateTool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", "30", "-b:v", "{bitrate}",
         "-threads", "1", "-pix_fmt", "yuv420p", "-f", "h264", "-"]
    }

    @Test("a command source streams; a REMB of 500 kbit/s restarts it with {bitrate} = 500000")
    func commandSourceFollowsREMB() async throws {
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        var request = StreamRequest(source: .command(arguments: try Self.encoderCommand()), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port, rtcpPort: receiver.localAddress.port)
        request.options.bitrate = 1_000_000
        let controller = StreamController(logger: StreamFixtures.logger)
        let session = try await controller.start(request)
        #expect(session.parameterSets.profileLevelID != nil)
        try await waitUntil(timeout: .seconds(30), "pictures from the encoder") { (await controller.statistics?.accessUnits ?? 0) >= 10 }
        #expect(await controller.statistics?.sourceBitrate == 1_000_000)

        let peer = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        peer.send(RTCPCodec.encode([.receiverEstimatedMaximumBitrate(.init(senderSSRC: 9, bitrate: 500_000, ssrcs: [session.ssrc]))]),
                  to: session.localRTCP)
        try await waitUntil(timeout: .seconds(30), "the restart at 500 kbit/s") { await controller.statistics?.sourceRestarts == 1 }
        let before = await controller.statistics?.idrPictures ?? 0
        try await waitUntil(timeout: .seconds(30), "an IDR from the restarted encoder") { (await controller.statistics?.idrPictures ?? 0) > before }
        var events: [StreamEvent] = []
        let statistics = try #require(await controller.stop())
        #expect(statistics.sourceBitrate == 500_000)
        #expect(statistics.rembBitrate == 500_000)
        controller.finishEvents()
        for await event in controller.events { events.append(event) }
        #expect(events.contains { $0.kind == DeviceEvent.Kind.streamState && $0.data["state"] == "bitrate_changed" && $0.data["bitrateBps"] == 500_000 })
        #expect(events.last?.data["state"] == "stopped")
    }

    @Test("a FIFO source streams what a writer puts in, from the latest IDR before play, and waits for the next writer")
    func fifoSource() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-fifo")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let fifo = directory.file("camera.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        let controller = StreamController(logger: StreamFixtures.logger)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        // Writers run on threads of their own: opening a FIFO blocks until the reader is there,
        // and must not hold a Swift concurrency thread meanwhile.
        let write = { @Sendable () -> FIFOWriter in FIFOWriter(path: fifo, bytes: bytes) }
        let firstWriter = write()
        _ = try await controller.start(StreamRequest(source: .fifo(path: fifo), destinationHost: "127.0.0.1", rtpPort: receiver.localAddress.port))
        try await waitUntil(timeout: .seconds(30), "the first writer") { firstWriter.isDone }
        try await waitUntil(timeout: .seconds(30), "the first writer's pictures and its end") {
            guard let statistics = await controller.statistics else { return false }
            return statistics.sourceRestarts >= 1 && statistics.accessUnits >= 30
        }
        let first = try #require(await controller.statistics)
        // Before play, a live source keeps only what follows its latest IDR: the second second at least.
        #expect(first.accessUnits >= 30 && first.accessUnits <= 60)
        let secondWriter = write()
        try await waitUntil(timeout: .seconds(30), "the second writer") { secondWriter.isDone }
        try await waitUntil(timeout: .seconds(30), "the end of the second writer") {
            guard let statistics = await controller.statistics else { return false }
            return statistics.sourceRestarts >= 2 && statistics.accessUnits >= first.accessUnits + 60
        }
        let statistics = try #require(await controller.stop())
        #expect(statistics.accessUnits == first.accessUnits + 60)
        #expect(statistics.idrPictures == first.idrPictures + 2)
        #expect(statistics.sendErrors == 0)
    }

    @Test("with feedback expected and none coming, the watchdog reports it and, by policy, stops the stream")
    func watchdogStops() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-rtp")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        var request = StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                    rtpPort: receiver.localAddress.port)
        request.options.expectFeedback = true
        request.options.feedbackTimeout = .seconds(1)
        request.options.onFeedbackLoss = .stop
        let controller = StreamController(logger: StreamFixtures.logger)
        _ = try await controller.start(request)
        let statistics = try #require(await controller.waitUntilEnded())
        #expect(statistics.feedbackSilent)
        controller.finishEvents()
        var states: [JSONValue] = []
        for await event in controller.events where event.kind == DeviceEvent.Kind.streamState { states.append(event.data) }
        #expect(states.contains { $0["state"] == "feedback_lost" && $0["policy"] == "stop" })
        #expect(states.last?["state"] == "stopped")
        #expect(states.last?["reason"] == "feedback_lost")
    }
}

/// Writes bytes into a FIFO from a thread of its own, then closes it.
final class FIFOWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    init(path: String, bytes: Data) {
        Thread { [self] in
            if let handle = FileHandle(forWritingAtPath: path) {
                try? handle.write(contentsOf: bytes)
                try? handle.close()
            }
            lock.withLock { done = true }
        }.start()
    }

    var isDone: Bool { lock.withLock { done } }
}
