import Logging
import OutpostSupport
import OutpostWire
import ServiceLifecycle

/// `start_stream`: starts the camera stream named by `args.source` (one of the agent's
/// configured `streams`) toward `args.host`/`args.port`; answers the session with its SDP
/// offer. The argument shape is documented in `docs/streaming.md`.
public struct StartStreamCommand: CommandHandler {
    public let name = "start_stream"
    let controller: StreamController
    let sources: [String: StreamSource]

    public init(controller: StreamController, sources: [String: StreamSource]) {
        self.controller = controller
        self.sources = sources
    }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        let request: StreamRequest
        do {
            request = try StreamRequest(arguments: command.args, sources: sources)
        } catch {
            throw CommandFailure(.invalidArgs, error.context)
        }
        do {
            return try await controller.start(request).json
        } catch {
            throw CommandFailure(CommandFailure.Code(error.code.rawValue), error.context)
        }
    }
}

/// `stop_stream`: stops the running stream with an RTCP BYE; answers its final counters.
/// With `host` and `rtpPort` (the destination the sender's `start_stream` named, compared as
/// written there, not resolved), only a stream to that destination is stopped:
/// `stream_other_destination` otherwise. Without them,
/// whatever runs is stopped (what aggregators before the argument send).
public struct StopStreamCommand: CommandHandler {
    public let name = "stop_stream"
    let controller: StreamController

    public init(controller: StreamController) { self.controller = controller }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        let statistics: StreamStatistics?
        switch (command.args["host"], command.args["rtpPort"]) {
        case (nil, nil):
            statistics = await controller.stop()
        case (.string(let host)?, .number(let port)?) where port == port.rounded() && (1...65_535).contains(port):
            do {
                statistics = try await controller.stop(ifSentTo: host, rtpPort: Int(port))
            } catch {
                throw CommandFailure(CommandFailure.Code(error.code.rawValue), error.context)
            }
        default:
            throw CommandFailure(.invalidArgs, "stop_stream takes host (a string) and rtpPort (1-65535) together, or neither")
        }
        guard let statistics else { throw CommandFailure(CommandFailure.Code("not_streaming"), "no stream is running") }
        return statistics.json
    }
}

/// Carries the streamer's `stream_stats` and `stream_state` reports to the agent's
/// `events` topic, and stops a running stream (with BYE) when the agent shuts down.
public struct StreamEventForwarder: Service {
    let controller: StreamController
    let events: EventQueue

    public init(controller: StreamController, events: EventQueue) {
        self.controller = controller
        self.events = events
    }

    public func run() async {
        let controller = controller
        await withGracefulShutdownHandler {
            for await event in controller.events {
                events.post(event.kind, event.data)
            }
        } onGracefulShutdown: {
            Task {
                _ = await controller.stop()
                controller.finishEvents()
            }
        }
    }
}
