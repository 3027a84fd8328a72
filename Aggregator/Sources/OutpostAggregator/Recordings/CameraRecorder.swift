import Foundation
import Logging
import OutpostSupport
import OutpostWire

/// Records one camera: asks its agent for the stream (SRTP, a fresh key) toward a port
/// pair here, where an ``RTPRelay`` passes it on to ffmpeg on loopback (and to Janus while
/// someone watches live), runs ffmpeg as a child process, and turns each segment ffmpeg closes
/// into a catalogue row: fsync, ffprobe, thumbnail, then `complete`. An engine that exits
/// by itself (a crash, kill -9) is restarted with backoff on the same stream; its
/// half-written segment is adopted if ffprobe can play it and removed (`partial`) if not.
/// Media that stops arriving ends the session and a new one is asked for.
///
/// A live view the agent already streams to (started before recording) is taken over: the
/// agent's stream is re-pointed to the relay with that live view's key, so Janus's mountpoint
/// and its viewers carry on after a short gap. The relay feeds whichever mountpoint the
/// camera's live session names, on any aggregator (``MediaRelaysStore``); when recording stops
/// while someone watches, the agent's stream is pointed back at the mountpoint.
struct CameraRecorder: Sendable {
    let device: String
    let owner: String
    let settings: RecordingSettings
    let library: RecordingLibrary
    let ingress: RecordingIngress
    let relays: MediaRelaysStore
    let liveSessions: LiveSessionsStore
    let commands: CommandsStore
    let audit: AuditLog
    let metrics: AggregatorMetrics
    let logger: Logger
    /// The agent may still stream to a relay of a killed aggregator (its engine was ended at
    /// start): the first session stops that stream before asking for a new one.
    var inheritsStream = false

    static let origin = AuditLog.Origin(principal: Principal(kind: .cli, id: "recorder", name: "recorder", role: .admin),
                                        sourceIP: "local", requestID: nil)

    var deviceDirectory: String { (settings.directory as NSString).appendingPathComponent(device) }
    var engineDirectory: String { (settings.directory as NSString).appendingPathComponent(".engine") }

    enum EngineEnd { case crashed(Int32), stale, cancelled }

    /// Records until cancelled; then stops the engine (SIGTERM, its last segment is closed
    /// and catalogued) and the agent's stream, or points that stream back at the live view.
    func run() async {
        var attempt = 0
        var streaming = inheritsStream
        var key: String?
        while !Task.isCancelled {
            attempt += 1
            do {
                try FileManager.default.createDirectory(atPath: deviceDirectory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
                try FileManager.default.createDirectory(atPath: engineDirectory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                let port = try Self.freePortPair(address: settings.mediaAddress, candidates: settings.rtpPorts.shuffled())
                let enginePort = try Self.freePortPair(address: "127.0.0.1", candidates: settings.rtpPorts.shuffled().filter { abs($0 - port) > 1 })
                let relay = try RTPRelay(address: settings.mediaAddress, port: port,
                                         engine: RTPRelay.Destination(host: "127.0.0.1", rtpPort: enginePort, rtcpPort: enginePort + 1))
                defer { Task { await relay.stop() } }
                let live = try await liveSessions.directLive(device: device, defaultHost: settings.mediaAddress)
                // One key for the recorder's whole run: a mountpoint made with it keeps working
                // when the stream is asked for again.
                let sessionKey = live?.srtpKey ?? key ?? SRTPKeyText.generate()
                if streaming || live != nil { await stopStream(wait: true) }
                streaming = false
                relay.setViewers(try await relayFedDestinations())
                if let live { relay.add(RTPRelay.Destination(live.destination)) }
                let offer = try await startStream(port: port, key: sessionKey)
                streaming = true
                key = sessionKey
                if let live {
                    let taken = try await liveSessions.takeOver(device: device, mountpoint: live.mountpoint)
                    logger.info("live view's stream taken over by the recorder", metadata: [
                        "device": "\(device)", "mountpoint": "\(live.mountpoint)", "taken": "\(taken)"])
                }
                try await relays.publish(device: device, owner: owner, srtpKey: sessionKey, offer: offer)
                await ingress.set(device, RecordingIngress.Session(relay: relay, srtpKey: sessionKey, offer: offer))
                defer { Task { [ingress, device] in await ingress.set(device, nil) } }
                let sdpPath = (engineDirectory as NSString).appendingPathComponent("\(device).sdp")
                let sdp = try RecordingPlan.engineSDP(offer: offer, receiveAddress: "127.0.0.1", rtpPort: enginePort, srtpKey: sessionKey)
                guard FileManager.default.createFile(atPath: sdpPath, contents: Data(sdp.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw RecordingError(.engineFailed, "cannot write \(sdpPath)")
                }
                logger.info("recording", metadata: ["device": "\(device)", "rtp_port": "\(port)", "engine_port": "\(enginePort)"])
                var restarts = 0
                engine: while !Task.isCancelled {
                    switch try await runEngine(sdp: sdpPath, relay: relay) {
                    case .cancelled:
                        break engine
                    case .stale:
                        logger.warning("no segment closed for a while: asking for the stream again", metadata: ["device": "\(device)"])
                        break engine
                    case .crashed(let status):
                        restarts += 1
                        metrics.recorderRestarted()
                        let wait = RecordingPlan.backoff(attempt: restarts)
                        logger.warning("media engine exited; restarting", metadata: [
                            "device": "\(device)", "status": "\(status)", "restart": "\(restarts)", "in_seconds": "\(wait)"])
                        try await Task.sleep(for: .seconds(wait))
                    }
                }
                let counters = relay.statistics
                logger.info("relay", metadata: ["device": "\(device)", "forwarded": "\(counters.forwarded)", "returned": "\(counters.returned)",
                                                "dropped": "\(counters.dropped)", "reports": "\(counters.reports)"])
                attempt = 0
            } catch is CancellationError {
                break
            } catch {
                let wait = RecordingPlan.backoff(attempt: attempt)
                logger.warning("recording not running", metadata: ["device": "\(device)", "error": "\(error)", "retry_in_seconds": "\(wait)"])
                try? await Task.sleep(for: .seconds(wait))
            }
        }
        // In a task of its own: this one is cancelled, and the database calls must still run.
        let recorder = self, wasStreaming = streaming, lastKey = key
        await Task {
            try? await recorder.relays.withdraw(device: recorder.device, owner: recorder.owner)
            if wasStreaming { await recorder.finishStream(key: lastKey) }
        }.value
        try? FileManager.default.removeItem(atPath: (engineDirectory as NSString).appendingPathComponent("\(device).sdp"))
        logger.info("recording stopped", metadata: ["device": "\(device)"])
    }

    /// Stops the agent's stream; when a live view is fed by the relay, points the stream at
    /// its mountpoint instead, with the same key, so its viewers carry on.
    private func finishStream(key: String?) async {
        guard let key, let live = try? await liveSessions.relayedLive(device: device, defaultHost: settings.mediaAddress) else {
            await stopStream()
            return
        }
        await stopStream(wait: true)
        do {
            let (command, _) = try await startStream(host: live.destination.host, port: live.destination.rtpPort,
                                                     rtcpPort: live.destination.rtcpPort, key: key, within: .seconds(10))
            if try await liveSessions.handBack(device: device, mountpoint: live.mountpoint, command: command.id, srtpKey: key) {
                logger.info("live view's stream handed back to the agent", metadata: ["device": "\(device)", "mountpoint": "\(live.mountpoint)"])
            }
        } catch {
            logger.warning("live view's stream not handed back", metadata: ["device": "\(device)", "error": "\(error)"])
        }
    }

    /// Sends `start_stream` toward the relay's `port` and waits (at most 25 s) for the agent's offer.
    private func startStream(port: Int, key: String) async throws -> String {
        let (_, offer) = try await startStream(host: settings.mediaAddress, port: port, rtcpPort: port + 1, key: key)
        return offer
    }

    private func startStream(host: String, port: Int, rtcpPort: Int, key: String, within limit: Duration = .seconds(25)) async throws
        -> (command: CommandsStore.View, offer: String)
    {
        let args: JSONValue = [
            "source": .string(settings.source), "host": .string(host), "rtpPort": .number(Double(port)),
            "rtcpPort": .number(Double(rtcpPort)), "srtpKey": .string(key), "srtcp": false,
        ]
        let command = try await commands.send(device: device, name: "start_stream", args: args, ttl: 60, origin: Self.origin, audit: audit)
        let current = try await outcome(of: command, within: limit)
        guard current.status == "succeeded", let offer = current.output?["sdp"]?.stringValue else {
            throw RecordingError(.streamNotStarted, "start_stream \(current.status): \(current.errorMessage ?? current.errorCode ?? "no offer")")
        }
        return (command, offer)
    }

    /// Sends `stop_stream`; with `wait`, until the agent answered (at most 10 s), so that a
    /// `start_stream` after it does not find the old stream still running.
    private func stopStream(wait: Bool = false) async {
        do {
            let command = try await commands.send(device: device, name: "stop_stream", args: [:], ttl: 30, origin: Self.origin, audit: audit)
            if wait { _ = try await outcome(of: command, within: .seconds(10)) }
        } catch {
            logger.warning("stop_stream not done", metadata: ["device": "\(device)", "error": "\(error)"])
        }
    }

    /// The command once final, polled every 100 ms.
    private func outcome(of command: CommandsStore.View, within limit: Duration) async throws -> CommandsStore.View {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            if let current = try await commands.get(command.id), ["succeeded", "failed", "expired"].contains(current.status) { return current }
        }
        throw RecordingError(.streamNotStarted, "\(command.name) not answered within \(limit) (command \(command.id))")
    }

    /// Runs ffmpeg once and catalogues each segment it closes, until it exits, no segment
    /// closes for three segment lengths plus 30 s, or the task is cancelled.
    private func runEngine(sdp: String, relay: RTPRelay) async throws -> EngineEnd {
        let runStartedAt = Date()
        let prefix = RecordingPlan.segmentPattern(runStartedAt: runStartedAt)
        let list = (engineDirectory as NSString).appendingPathComponent("\(device).csv")
        try? FileManager.default.removeItem(atPath: list)
        let logPath = (engineDirectory as NSString).appendingPathComponent("\(device).log")
        let process = try EngineProcess(
            executable: settings.ffmpegPath,
            arguments: RecordingPlan.engineArguments(sdp: sdp, receiveAddress: "127.0.0.1", segmentSeconds: settings.segmentSeconds,
                                                     list: list, pattern: (deviceDirectory as NSString).appendingPathComponent(prefix)),
            logPath: logPath,
            record: (path: (engineDirectory as NSString).appendingPathComponent("\(device).pid"), device: device,
                     runPrefix: String(prefix.prefix { $0 != "-" }) + "-"))
        logger.info("media engine started", metadata: ["device": "\(device)", "pid": "\(process.pid)"])

        var done = Set<String>()
        var opened = 0
        var lastProgress = ContinuousClock.now
        let staleAfter = Duration.seconds(settings.segmentSeconds * 3 + 30)
        var end: EngineEnd?
        var lastSync = ContinuousClock.now
        while end == nil {
            if !Task.isCancelled, ContinuousClock.now - lastSync >= .seconds(1) {
                lastSync = .now
                await syncViewers(relay)
            }
            if Task.isCancelled {
                await process.terminate()
                end = .cancelled
            } else if !process.isRunning {
                end = .crashed(process.exitStatus)
            } else if ContinuousClock.now - lastProgress > staleAfter {
                await process.terminate()
                end = .stale
            }
            opened = await recordOpened(runStartedAt: runStartedAt, from: opened)
            if await catalogue(list: list, done: &done) > 0 { lastProgress = .now }
            if end == nil { try? await Task.sleep(for: .milliseconds(500)) }
        }
        await settleLeftovers(runPrefix: String(prefix.prefix { $0 != "-" }) + "-", done: done)
        return end ?? .cancelled
    }

    /// The mountpoint of the camera's relay-fed live session, whichever aggregator made it.
    private func relayFedDestinations() async throws -> Set<RTPRelay.Destination> {
        Set(try await liveSessions.relayFedAddresses(device: device, defaultHost: settings.mediaAddress).map(RTPRelay.Destination.init))
    }

    /// Feeds the mountpoint of the camera's relay-fed live session, whichever aggregator made it.
    private func syncViewers(_ relay: RTPRelay) async {
        do {
            let wanted = try await relayFedDestinations()
            if wanted != relay.currentViewers { relay.setViewers(wanted) }
        } catch {
            logger.warning("live destinations not read", metadata: ["device": "\(device)", "error": "\(error)"])
        }
    }

    /// Gives each segment the engine has opened since segment `index` its `recording` row;
    /// returns the index of the next segment to look for. Segments are numbered from 0 in
    /// each run, so only the next name is looked up, never the directory listed.
    private func recordOpened(runStartedAt: Date, from index: Int) async -> Int {
        var next = index
        while true {
            let name = RecordingPlan.segmentFile(runStartedAt: runStartedAt, index: next)
            guard FileManager.default.fileExists(atPath: (deviceDirectory as NSString).appendingPathComponent(name)) else { return next }
            let library = library, device = device
            await Task { await library.open(device: device, name: name) }.value
            next += 1
        }
    }

    /// Catalogues the segments the list names that are not done yet; returns how many.
    /// Runs to its end even while recording is being stopped: the last segment gets its row.
    private func catalogue(list: String, done: inout Set<String>) async -> Int {
        guard let text = try? String(contentsOfFile: list, encoding: .utf8) else { return 0 }
        let names = text.split(separator: "\n").compactMap(RecordingPlan.listedFile).filter { !done.contains($0) }
        for name in names {
            done.insert(name)
            let library = library, device = device
            await Task { await library.catalogue(device: device, name: name, outcome: "complete") }.value
        }
        return names.count
    }

    /// After the engine ended: this run's files it never listed (the segment it was writing
    /// when killed) are adopted when playable, removed when not.
    private func settleLeftovers(runPrefix: String, done: Set<String>) async {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: deviceDirectory)) ?? []
        let library = library, device = device
        for name in names.sorted() where name.hasPrefix(runPrefix) && name.hasSuffix(".mp4") && !done.contains(name) {
            await Task { await library.catalogue(device: device, name: name, outcome: "adopted") }.value
        }
    }

    /// An even port of `candidates` whose odd neighbour is free too, on `address`.
    static func freePortPair(address: String, candidates: [Int]) throws -> Int {
        for port in candidates.prefix(64) where canBind(address: address, port: port) && canBind(address: address, port: port + 1) {
            return port
        }
        throw RecordingError(.noPorts, "no free UDP port pair on \(address) in the configured range")
    }

    private static func canBind(address: String, port: Int) -> Bool {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return false }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
