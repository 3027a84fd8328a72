import Logging
import OutpostStreaming

/// Starts and stops the device's camera stream; what `start_stream` and `stop_stream` call.
///
/// ```swift
/// let controller = StreamController(logger: logger)
/// let session = try await controller.start(request)   // session.sdp is the offer
/// for await event in controller.events { publish(DeviceEvent(device: id, ts: now, kind: event.kind, data: event.data)) }
/// let final = await controller.stop()
/// ```
///
/// One stream at a time. ``prepare(_:)`` binds the sockets and reads the source until its
/// SPS and PPS are known (the SDP needs them) without sending; ``play()`` starts sending.
/// ``start(_:)`` does both.
public actor StreamController {
    /// `stream_stats` and `stream_state` events (and `source_error`), ready for `DeviceEvent`.
    /// Buffers the newest 256 when nobody reads.
    public nonisolated let events: AsyncStream<StreamEvent>
    private nonisolated let continuation: AsyncStream<StreamEvent>.Continuation
    private let logger: Logger
    private var engine: StreamEngine?
    private var session: StreamSession?
    /// The destination as `start_stream` wrote it (host text, RTP port), which a stop names.
    private var requested: (host: String, rtpPort: Int)?

    public init(logger: Logger) {
        var logger = logger
        logger[metadataKey: "component"] = "stream"
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: StreamEvent.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Ends ``events`` once the events already buffered are read. For a process that is
    /// about to exit; the controller streams no more after this.
    public nonisolated func finishEvents() { continuation.finish() }

    /// The running or prepared stream, if any.
    public var currentSession: StreamSession? {
        guard let engine, engine.finished.value == nil else { return nil }
        return session
    }

    /// Counters of the running stream (or the last one).
    public var statistics: StreamStatistics? { engine?.snapshot }

    /// Prepares and plays; returns the session with its SDP offer.
    public func start(_ request: StreamRequest) async throws(StreamError) -> StreamSession {
        let session = try await prepare(request)
        try play()
        return session
    }

    /// Binds the sockets, opens the source and reads it up to its first SPS and PPS.
    public func prepare(_ request: StreamRequest) async throws(StreamError) -> StreamSession {
        if let engine, engine.finished.value == nil {
            throw StreamError(.alreadyStreaming, "a stream to \(session?.destinationRTP.description ?? "?") is running")
        }
        try request.validate()
        let options = request.options
        let destinationRTP = try SocketAddress.resolve(host: request.destinationHost, port: request.rtpPort)
        guard !destinationRTP.isUnspecified else { throw StreamError(.invalidRequest, "host may not be \(destinationRTP.host)") }
        let destinationRTCP = destinationRTP.withPort(request.effectiveRTCPPort)
        let local: SocketAddress
        if let configured = options.localAddress {
            local = try SocketAddress.resolve(host: configured, port: 0)
            guard !local.isUnspecified else { throw StreamError(.invalidRequest, "localAddress may not be \(configured)") }
            guard local.family == destinationRTP.family else { throw StreamError(.invalidRequest, "localAddress and host differ in family") }
        } else {
            local = try RouteLookup.sourceAddress(toward: destinationRTP)
        }
        let sockets = try UDPSocket.bindPair(on: local, port: options.localPort, multiplexed: options.rtcpMux)
        let source: any ByteSource
        switch request.source {
        case .file(let path, _, let loop): source = try FileByteSource(path: path, loop: loop)
        case .fifo(let path): source = try FIFOByteSource(path: path)
        case .command(let arguments): source = try CommandByteSource(arguments: arguments, bitrate: options.bitrate)
        }
        let ssrc = UInt32.random(in: 1...UInt32.max)
        let cname = options.cname ?? "outpost@\(local.host)"
        let configuration = StreamEngine.Configuration(
            request: request, ssrc: ssrc, firstSequenceNumber: UInt16.random(in: 0...UInt16.max),
            timestampBase: UInt32.random(in: 0...UInt32.max), cname: cname, destinationRTP: destinationRTP,
            destinationRTCP: destinationRTCP)
        var engineLogger = logger
        engineLogger[metadataKey: "ssrc"] = "\(ssrc)"
        let continuation = continuation
        let engine: StreamEngine
        do {
            engine = try StreamEngine(configuration: configuration, rtpSocket: sockets.rtp, rtcpSocket: sockets.rtcp, source: source,
                                      logger: engineLogger, emit: { continuation.yield($0) })
        } catch {
            source.close()
            throw error
        }
        self.engine = engine
        engine.launch()
        let parameterSets: ParameterSets
        switch await engine.prepared.wait() {
        case .success(let value): parameterSets = value
        case .failure(let error):
            engine.requestStop(reason: error.code.rawValue)
            _ = await engine.finished.wait()
            throw error
        }
        let localRTCP = sockets.rtcp?.localAddress ?? sockets.rtp.localAddress
        var offer = SDPOffer(originAddress: sockets.rtp.localAddress, sessionID: UInt64.random(in: 1..<(1 << 62)),
                             sessionName: options.sessionName, mediaPort: destinationRTP.port, rtcpPort: localRTCP.port,
                             rtcpMux: options.rtcpMux, payloadType: options.payloadType, parameterSets: parameterSets, ssrc: ssrc,
                             cname: cname)
        offer.secure = options.srtpKey != nil
        let session = StreamSession(ssrc: ssrc, cname: cname, localRTP: sockets.rtp.localAddress, localRTCP: localRTCP,
                                    destinationRTP: destinationRTP, destinationRTCP: destinationRTCP, parameterSets: parameterSets,
                                    offer: offer)
        self.session = session
        requested = (request.destinationHost, request.rtpPort)
        return session
    }

    /// Starts sending the prepared stream.
    public func play() throws(StreamError) {
        guard let engine, engine.finished.value == nil else { throw StreamError(.notStreaming, "no stream is prepared") }
        engine.play()
    }

    /// Stops the stream (BYE goes out) and returns its final counters; nil if none ran.
    @discardableResult
    public func stop() async -> StreamStatistics? {
        guard let engine else { return nil }
        engine.requestStop(reason: "stopped")
        return await engine.finished.wait()
    }

    /// Stops the stream only if its `start_stream` named `host` (the same text, case aside: a
    /// name is not resolved again, since it may resolve differently now) and `rtpPort`; nil if
    /// none runs. A stop meant for a stream that was replaced since (a live view's stop arriving
    /// after the recorder re-pointed the stream) throws `stream_other_destination` and stops nothing.
    @discardableResult
    public func stop(ifSentTo host: String, rtpPort: Int) async throws(StreamError) -> StreamStatistics? {
        guard let current = currentSession, let requested else { return nil }
        guard requested.host.lowercased() == host.lowercased(), requested.rtpPort == rtpPort else {
            throw StreamError(.otherDestination,
                              "the running stream goes to \(requested.host) port \(requested.rtpPort) (\(current.destinationRTP)), not \(host) port \(rtpPort)")
        }
        return await stop()
    }

    /// Waits until the stream ends by itself (its source ended, or the feedback watchdog
    /// stopped it) or is stopped; returns its final counters.
    public func waitUntilEnded() async -> StreamStatistics? {
        guard let engine else { return nil }
        return await engine.finished.wait()
    }
}
