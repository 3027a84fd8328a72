import Foundation
import OutpostSupport
import OutpostWire
import TestHarness
import Testing
@testable import OutpostAgent
@testable import OutpostStreaming

/// `stop_stream` addressed to a destination, with real UDP on loopback: the race of a live
/// view stopped while the recorder takes its stream over, played in the order that lost the
/// recorder's stream before (the live view's stop arriving after the takeover).
@Suite("stop_stream addressed to a destination", .serialized)
struct StopStreamTargetTests {
    static func command(_ args: JSONValue) -> Command {
        Command(id: "cmd-\(UInt32.random(in: 1...UInt32.max))", name: "stop_stream", args: args, expiresAt: Int64.max)
    }

    static func failure(_ handler: StopStreamCommand, _ args: JSONValue) async -> CommandFailure? {
        do {
            _ = try await handler.handle(command(args))
            return nil
        } catch {
            return error
        }
    }

    @Test("the live view's stop arriving after the recorder re-pointed the stream fails with stream_other_destination and the recorder's stream keeps flowing; the recorder's own stop ends it; no arguments stops whatever runs",
          .timeLimit(.minutes(1)))
    func staleStopLeavesTheNewStream() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-stop")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let janus = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        let relay = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        let controller = StreamController(logger: StreamFixtures.logger)
        let stop = StopStreamCommand(controller: controller)
        func request(to socket: UDPSocket) -> StreamRequest {
            StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1", rtpPort: socket.localAddress.port)
        }
        let liveStop: JSONValue = ["host": "127.0.0.1", "rtpPort": .number(Double(janus.localAddress.port))]

        // The live view's stream, then the recorder's takeover: stop, start toward the relay.
        _ = try await controller.start(request(to: janus))
        try await waitUntil(timeout: .seconds(10), "RTP at the live view's destination") { janus.receive() != nil }
        #expect(try await stop.handle(Self.command([:]))["packets"]?.intValue ?? 0 > 0)
        _ = try await controller.start(request(to: relay))

        // The live view's stop, queued before the takeover, arrives now.
        let refused = await Self.failure(stop, liveStop)
        #expect(refused?.code.rawValue == "stream_other_destination", "\(String(describing: refused))")
        #expect(await controller.currentSession?.destinationRTP == relay.localAddress)
        while relay.receive() != nil {}
        var after = 0
        try await waitUntil(timeout: .seconds(10), "RTP still reaching the relay after the refused stop") {
            while relay.receive() != nil { after += 1 }
            return after >= 10
        }

        // The recorder's own stop, addressed to the relay, ends it; then nothing runs.
        let relayStop: JSONValue = ["host": "127.0.0.1", "rtpPort": .number(Double(relay.localAddress.port))]
        #expect(try await stop.handle(Self.command(relayStop))["packets"]?.intValue ?? 0 > 0)
        #expect(await controller.currentSession == nil)
        #expect(await Self.failure(stop, relayStop)?.code.rawValue == "not_streaming")

        // Malformed: one of the two, or a port out of range.
        #expect(await Self.failure(stop, ["host": "127.0.0.1"])?.code == .invalidArgs)
        #expect(await Self.failure(stop, ["rtpPort": 5004])?.code == .invalidArgs)
        #expect(await Self.failure(stop, ["host": "127.0.0.1", "rtpPort": 70_000])?.code == .invalidArgs)
    }

    @Test("the stop matches the host as start_stream wrote it, never resolved again: a name stops its stream, the same address written otherwise does not",
          .timeLimit(.minutes(1)))
    func hostComparedAsWritten() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-stop")
        defer { directory.remove() }
        let file = try await StreamFixtures.smallStream(in: directory)
        let receiver = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0, family: .ipv4))
        let port = receiver.localAddress.port
        let controller = StreamController(logger: StreamFixtures.logger)
        let stop = StopStreamCommand(controller: controller)
        _ = try await controller.start(StreamRequest(source: .file(path: file, framesPerSecond: 30, loop: true), destinationHost: "127.0.0.1",
                                                     rtpPort: port))
        try await waitUntil(timeout: .seconds(10), "RTP at the receiver") { receiver.receive() != nil }

        // The same address written as another text (what a re-resolved name can turn into) is another destination.
        for host in ["127.000.000.001", "::ffff:127.0.0.1"] {
            let refused = await Self.failure(stop, ["host": .string(host), "rtpPort": .number(Double(port))])
            #expect(refused?.code.rawValue == "stream_other_destination", "\(host): \(String(describing: refused))")
        }
        #expect(await Self.failure(stop, ["host": "127.0.0.1", "rtpPort": .number(Double(port + 1))])?.code.rawValue == "stream_other_destination")
        #expect(await controller.currentSession != nil)
        // As written in start_stream: stopped.
        #expect(try await stop.handle(Self.command(["host": "127.0.0.1", "rtpPort": .number(Double(port))]))["packets"]?.intValue ?? 0 > 0)
        #expect(await controller.currentSession == nil)
    }
}
