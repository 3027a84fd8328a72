import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import OutpostSupport
import OutpostStreaming
import ServiceLifecycle

extension AgentCommand {
    /// `outpost-agent stream`: one stream without a broker, for operators and tests.
    ///
    /// Writes the SDP offer (to `--sdp-out` or stdout), then streams until the source ends or
    /// SIGTERM/SIGINT, and prints `stream_stats` / `stream_state` events as JSON lines.
    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stream", abstract: "Stream H.264 over RTP to HOST:PORT, with RTCP and an SDP offer.")

        @Option(help: "file:PATH (or a bare path), fifo:PATH, or cmd:PROGRAM ARGS ({bitrate} and {bitrate_kbps} are filled in).")
        var source: String

        @Option(help: "Destination HOST:PORT (RTP); [IPv6]:PORT for IPv6.")
        var to: String

        @Option(help: "Write the SDP offer here (mode 0644) instead of stdout.")
        var sdpOut: String?

        @Option(help: "Frame rate of a file source.")
        var fps: Double = 30

        @Flag(help: "Loop a file source.")
        var loop = false

        @Option(help: "Destination RTCP port (default: RTP port + 1, or the RTP port with --rtcp-mux).")
        var rtcpPort: Int?

        @Flag(help: "RTP and RTCP on one port (RFC 5761).")
        var rtcpMux = false

        @Option(help: "Local address to send from and to advertise (default: the kernel's route toward the destination).")
        var localAddress: String?

        @Option(help: "Local RTP port; RTCP uses the next one (default: a free even port).")
        var localPort: Int = 0

        @Option(help: "RTP payload bytes per packet.")
        var payloadSize: Int = 1200

        @Option(help: "SDES CNAME (default: outpost@LOCAL-ADDRESS).")
        var cname: String?

        @Option(help: "RTCP minimum interval in seconds (RFC 3550 default 5).")
        var rtcpInterval: Double = 5

        @Option(help: "Seconds between stream_stats events.")
        var statsInterval: Double = 5

        @Flag(help: "Expect RTCP from the receiver and watch for its absence.")
        var expectFeedback = false

        @Option(help: "Seconds of RTCP silence that count as lost feedback.")
        var feedbackTimeout: Double = 15

        @Option(help: "On lost feedback: continue or stop.")
        var onFeedbackLoss: String = "continue"

        @Option(help: "Initial bitrate (bits/s) for a command source's {bitrate}.")
        var bitrate: UInt64 = 2_000_000

        @Option(help: "Log format: text or json.")
        var logFormat: String = "text"

        func run() async throws {
            LoggingConfiguration(format: logFormat == "json" ? .json : .text).bootstrap()
            let logger = Logger(label: "agent.stream")
            let request: StreamRequest
            do {
                request = try makeRequest()
            } catch {
                print("error: \(error)")
                throw ExitCode(2)
            }
            let controller = StreamController(logger: logger)
            let printer = Task {
                for await event in controller.events {
                    let line: JSONValue = ["kind": .string(event.kind), "data": event.data]
                    if let data = try? JSONEncoder().encode(line) { print(String(decoding: data, as: UTF8.self)) }
                    fflush(nil)
                }
            }
            let sdpOut = sdpOut
            let service = StreamService(controller: controller, request: request) { session in
                if let sdpOut {
                    try Self.writeOffer(session.sdp, to: sdpOut)
                } else {
                    print(session.sdp, terminator: "")
                    fflush(nil)
                }
            }
            // The stream ending by itself (a file that ran out) ends the program normally.
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch let error as StreamError {
                print("error: \(error)")
                throw ExitCode(1)
            }
            controller.finishEvents()
            await printer.value
        }

        func makeRequest() throws(StreamError) -> StreamRequest {
            let (host, port) = try Self.splitHostPort(to)
            var options = StreamOptions()
            options.rtcpMux = rtcpMux
            options.localAddress = localAddress
            options.localPort = localPort
            options.payloadSize = payloadSize
            options.cname = cname
            options.rtcpMinimumInterval = .milliseconds(Int64(rtcpInterval * 1000))
            options.statsInterval = .milliseconds(Int64(statsInterval * 1000))
            options.expectFeedback = expectFeedback
            options.feedbackTimeout = .milliseconds(Int64(feedbackTimeout * 1000))
            guard let policy = FeedbackWatchdog.Policy(rawValue: onFeedbackLoss) else {
                throw StreamError(.invalidRequest, "--on-feedback-loss must be continue or stop")
            }
            options.onFeedbackLoss = policy
            options.bitrate = bitrate
            let request = StreamRequest(source: try StreamSource.parse(source, framesPerSecond: fps, loop: loop), destinationHost: host,
                                        rtpPort: port, rtcpPort: rtcpPort, options: options)
            try request.validate()
            return request
        }

        /// Writes the offer atomically (temp file + rename, mode 0644) to a regular file, and
        /// plainly to anything else that exists (a FIFO, /dev/stdout), which a rename would replace.
        static func writeOffer(_ sdp: String, to path: String) throws {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw StreamError(.invalidRequest, "cannot write \(path)") }
                defer { close(fd) }
                let bytes = Array(sdp.utf8)
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { throw StreamError(.invalidRequest, "cannot write \(path)") }
                    offset += written
                }
                return
            }
            try SecureFile.write(sdp, to: path, mode: 0o644)
        }

        /// `HOST:PORT` or `[IPv6]:PORT`.
        static func splitHostPort(_ text: String) throws(StreamError) -> (String, Int) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
                throw StreamError(.invalidRequest, "--to must be HOST:PORT")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw StreamError(.invalidRequest, "--to must be HOST:PORT") }
            return (host, port)
        }
    }
}
