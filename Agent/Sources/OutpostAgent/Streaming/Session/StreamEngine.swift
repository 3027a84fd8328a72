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
import OutpostWire
import OutpostSRTP
import OutpostStreaming
import Synchronization

/// Runs one stream on a thread of its own: reads the source, paces and sends RTP, sends
/// RTCP reports, and reacts to feedback. A single `poll(2)` loop waits on the RTCP
/// socket(s), a live source and a wake-up descriptor, with a timeout set by the next
/// frame, packet burst, report, stats event or watchdog deadline. Nothing here blocks a
/// Swift concurrency thread, and all stream state is confined to the engine's thread.
final class StreamEngine: @unchecked Sendable {
    struct Configuration: Sendable {
        var request: StreamRequest
        var ssrc: UInt32
        var firstSequenceNumber: UInt16
        var timestampBase: UInt32
        var cname: String
        var destinationRTP: SocketAddress
        var destinationRTCP: SocketAddress
    }

    private struct Control {
        var playRequested = false
        var stopReason: String?
        var statistics = StreamStatistics()
    }

    private struct PacedPacket {
        var bytes: [UInt8]
        var sequenceNumber: UInt16
        var due: UInt64
    }

    private let configuration: Configuration
    private let options: StreamOptions
    private let logger: Logger
    private let emit: @Sendable (StreamEvent) -> Void
    private let control = Mutex(Control())
    /// A self-pipe: a byte written to `wakeWriteFD` ends the loop's `poll`.
    private let wakeFD: Int32
    private let wakeWriteFD: Int32
    let prepared = OneShot<Result<ParameterSets, StreamError>>()
    let finished = OneShot<StreamStatistics>()

    // Everything below belongs to the engine thread.
    private let rtpSocket: UDPSocket
    private let rtcpSocket: UDPSocket?
    /// With SRTP: the context that protects what we send, and the one that checks SRTCP we receive.
    private let srtpOut: SRTPContext?
    private let srtcpIn: SRTPContext?
    private let source: any ByteSource
    private var parser = AnnexBParser()
    private var assembler = AccessUnitAssembler()
    private var parsedParameterSets = ParameterSetTracker()
    private var sentParameterSets = ParameterSetTracker()
    private var packetizer: H264Packetizer
    private var history: RetransmissionHistory
    private var retransmissionBudget = RetransmissionBudget()
    private var policy: FeedbackPolicy
    private var reportsSent = SenderReportHistory()
    private var watchdog: FeedbackWatchdog?
    private var adaptation: BitrateAdaptation?
    private let interval: RTCPInterval
    private var statistics = StreamStatistics()
    private var queue: [[H264NALUnit]] = []
    private var queuedBytes = 0
    private var pacer: [PacedPacket] = []
    private var pacerHead = 0
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var sourceEnded = false
    private var endDue: UInt64?
    /// Bytes read since the source (re)started.
    private var bytesSinceStart = 0
    private var playing = false
    private var origin: UInt64 = 0
    private var nextFrameDue: UInt64 = 0
    private var nextReportDue: UInt64 = 0
    private var nextStatsDue: UInt64 = 0
    private var statsBytesMark = 0
    private var statsTimeMark: UInt64 = 0
    private var averageRTCPSize: Double = 128
    private var resendPending = false
    private var lastTimestamp: UInt32 = 0
    private var reporters: Set<UInt32> = []
    private let frameInterval: UInt64

    init(configuration: Configuration, rtpSocket: UDPSocket, rtcpSocket: UDPSocket?, source: any ByteSource, logger: Logger,
         emit: @escaping @Sendable (StreamEvent) -> Void) throws(StreamError)
    {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw StreamError(.bindFailed, "pipe: \(String(cString: strerror(errno)))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
        self.configuration = configuration
        options = configuration.request.options
        self.rtpSocket = rtpSocket
        self.rtcpSocket = rtcpSocket
        if let key = options.srtpKey {
            srtpOut = try SRTPContext(key: key, direction: .outbound)
            srtcpIn = options.srtcp ? try SRTPContext(key: key, direction: .inbound) : nil
        } else {
            srtpOut = nil
            srtcpIn = nil
        }
        self.source = source
        self.logger = logger
        self.emit = emit
        packetizer = H264Packetizer(ssrc: configuration.ssrc, firstSequenceNumber: configuration.firstSequenceNumber,
                                    payloadType: options.payloadType, maximumPayloadSize: options.payloadSize)
        history = RetransmissionHistory(capacity: options.retransmissionHistory)
        policy = FeedbackPolicy(ssrc: configuration.ssrc, minimumResendInterval: options.keyframeResendInterval)
        interval = RTCPInterval(minimum: options.rtcpMinimumInterval)
        if configuration.request.source.adaptsBitrate {
            adaptation = BitrateAdaptation(initial: options.bitrate, minimum: options.minimumBitrate, maximum: options.maximumBitrate)
        }
        if case .file(_, let fps, _) = configuration.request.source {
            frameInterval = UInt64(1e9 / fps)
        } else {
            frameInterval = 33_333_333
        }
        statistics.ssrc = configuration.ssrc
        statistics.sourceBitrate = adaptation?.current
    }

    deinit {
        close(wakeFD)
        close(wakeWriteFD)
    }

    // MARK: Control, from any thread

    /// Starts the thread, which reads the source until it has SPS and PPS.
    func launch() {
        NetworkThread.spawn(name: "outpost-stream", stackSize: 1 << 20) { [self] in run() }
    }

    func play() {
        control.withLock { $0.playRequested = true }
        wake()
    }

    func requestStop(reason: String) {
        control.withLock { if $0.stopReason == nil { $0.stopReason = reason } }
        wake()
    }

    var snapshot: StreamStatistics { control.withLock { $0.statistics } }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWriteFD, &one, 1)
    }

    // MARK: The loop

    private func run() {
        let started = MonotonicClock.now()
        let prerollDeadline = started + options.prerollTimeout.nanoseconds
        while true {
            let now = MonotonicClock.now()
            let (playRequested, stopReason) = control.withLock { ($0.playRequested, $0.stopReason) }
            if let stopReason { return finish(reason: stopReason) }
            do {
                if source.pollDescriptor == nil { try pumpFile() }
                if prepared.value == nil {
                    if let parameterSets = parsedParameterSets.current {
                        prepared.fulfill(.success(parameterSets))
                    } else if now >= prerollDeadline || sourceEnded {
                        let error = StreamError(.noParameterSets, "no SPS and PPS from the source within \(options.prerollTimeout)")
                        prepared.fulfill(.failure(error))
                        return finish(reason: error.code.rawValue)
                    }
                }
                if playRequested, !playing, prepared.value != nil { startPlaying(now: now) }
                if playing {
                    sendDueFrames(now: now)
                    sendDuePackets(now: now)
                    // The last picture lasts one frame interval; the BYE follows it, so a receiver
                    // that ends at the BYE (ffmpeg) has read the picture first.
                    if sourceEnded, queue.isEmpty, pacerHead == pacer.count {
                        let end = endDue ?? now + frameInterval
                        endDue = end
                        if now >= end { return finish(reason: "source_ended") }
                    }
                    if now >= nextReportDue { sendReport(now: now, goodbye: nil) }
                    if now >= nextStatsDue { emitStatistics(now: now) }
                    if let reason = checkWatchdog(now: now) { return finish(reason: reason) }
                    if let bitrate = adaptation?.due(now: now) { try applyBitrate(bitrate) }
                }
            } catch {
                emit(StreamEvent(kind: DeviceEvent.Kind.sourceError, data: ["code": .string(error.code.rawValue), "message": .string(error.context)]))
                logger.error("stream source failed", metadata: ["error": "\(error)"])
                prepared.fulfill(.failure(error))
                return finish(reason: error.code.rawValue)
            }
            publishSnapshot(now: now)
            waitForWork(timeout: nextDeadline(now: now, prerollDeadline: prerollDeadline))
        }
    }

    private func startPlaying(now: UInt64) {
        playing = true
        origin = now
        nextFrameDue = now
        statsTimeMark = now
        nextStatsDue = now + options.statsInterval.nanoseconds
        nextReportDue = now + interval.initialDelay.nanoseconds
        if options.expectFeedback { watchdog = FeedbackWatchdog(timeout: options.feedbackTimeout, startedAt: now) }
        emit(.state(.started, ["ssrc": .number(Double(configuration.ssrc)), "destination": .string(configuration.destinationRTP.description)]))
        logger.info("stream started", metadata: ["destination": "\(configuration.destinationRTP)", "ssrc": "\(configuration.ssrc)"])
    }

    private func waitForWork(timeout: UInt64) {
        var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0), pollfd(fd: rtpSocket.fd, events: Int16(POLLIN), revents: 0)]
        if let rtcpSocket { fds.append(pollfd(fd: rtcpSocket.fd, events: Int16(POLLIN), revents: 0)) }
        let sourceFD = source.pollDescriptor
        if let sourceFD, !sourceEnded { fds.append(pollfd(fd: sourceFD, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = Int32(min((timeout + 999_999) / 1_000_000, 1000))
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else { return }
        if fds[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            _ = read(wakeFD, &drain, drain.count)
        }
        let now = MonotonicClock.now()
        if fds[1].revents != 0 { receiveRTCP(on: rtpSocket, now: now) }
        if let rtcpSocket, fds[2].revents != 0 { receiveRTCP(on: rtcpSocket, now: now) }
        if let sourceFD, let entry = fds.last, entry.fd == sourceFD, entry.revents != 0 {
            do {
                try pumpLive(now: now)
            } catch {
                requestStop(reason: error.code.rawValue)
                emit(StreamEvent(kind: DeviceEvent.Kind.sourceError, data: ["code": .string(error.code.rawValue), "message": .string(error.context)]))
            }
        }
    }

    private func nextDeadline(now: UInt64, prerollDeadline: UInt64) -> UInt64 {
        var deadlines: [UInt64] = []
        if prepared.value == nil { deadlines.append(prerollDeadline) }
        if playing {
            deadlines += [nextReportDue, nextStatsDue]
            if source.isPaced, !queue.isEmpty { deadlines.append(nextFrameDue) }
            if source.isPaced, queue.isEmpty, !sourceEnded { deadlines.append(now) }
            if pacerHead < pacer.count { deadlines.append(pacer[pacerHead].due) }
            if let due = watchdog?.deadline { deadlines.append(due) }
            if let adaptation, adaptation.target != adaptation.current { deadlines.append(now + 1_000_000_000) }
            if let endDue { deadlines.append(endDue) }
        }
        let next = deadlines.min() ?? now + 1_000_000_000
        return next > now ? next - now : 0
    }

    // MARK: Source

    /// A file is read ahead just far enough to have the next frames ready.
    private func pumpFile() throws(StreamError) {
        var reads = 0
        while !sourceEnded, queue.count < 2, reads < 64 {
            reads += 1
            guard let count = try source.read(into: &readBuffer) else { return }
            if count == 0 {
                try endOfSource()
            } else {
                bytesSinceStart += count
                absorb(parser.feed(readBuffer[0..<count]))
            }
            if !playing, prepared.value == nil, parsedParameterSets.current != nil { return }
        }
    }

    private func pumpLive(now: UInt64) throws(StreamError) {
        for _ in 0..<16 {
            guard let count = try source.read(into: &readBuffer) else { return }
            if count == 0 {
                try endOfSource()
                return
            }
            bytesSinceStart += count
            absorb(parser.feed(readBuffer[0..<count]))
            if playing { sendDueFrames(now: now) }
        }
    }

    private func endOfSource() throws(StreamError) {
        if let last = parser.finish() { absorb([last]) }
        if let unit = assembler.finish() { enqueue(unit) }
        // An empty pass over a looped file would loop forever without sending anything.
        let empty = source.isPaced && bytesSinceStart == 0
        bytesSinceStart = 0
        if !empty, try source.restartAfterEnd() {
            if source.isPaced { statistics.loops += 1 } else { statistics.sourceRestarts += 1 }
        } else {
            sourceEnded = true
        }
    }

    private func absorb(_ units: [H264NALUnit]) {
        statistics.oversizedNALUnits = parser.oversizedUnits
        for unit in units {
            parsedParameterSets.observe(unit)
            if let accessUnit = assembler.append(unit) { enqueue(accessUnit) }
        }
    }

    /// Bounded: before playing, a live source keeps only what follows the latest IDR; and
    /// no source holds more than 300 access units or 16 MiB.
    private func enqueue(_ accessUnit: [H264NALUnit]) {
        if !playing, !source.isPaced, accessUnit.contains(where: \.isIDR) {
            queue.removeAll()
            queuedBytes = 0
        }
        queue.append(accessUnit)
        queuedBytes += accessUnit.reduce(0) { $0 + $1.bytes.count }
        while queue.count > 300 || (queuedBytes > 16 << 20 && queue.count > 1) {
            queuedBytes -= queue.removeFirst().reduce(0) { $0 + $1.bytes.count }
        }
    }

    // MARK: Sending

    private func rtpTimestamp(at instant: UInt64) -> UInt32 {
        configuration.timestampBase &+ UInt32(truncatingIfNeeded: (instant &- origin) * 9 / 100_000)
    }

    private func sendDueFrames(now: UInt64) {
        while !queue.isEmpty {
            let due: UInt64
            if source.isPaced {
                guard nextFrameDue <= now else { return }
                if now > nextFrameDue + 5 * frameInterval { nextFrameDue = now }
                due = nextFrameDue
                nextFrameDue += frameInterval
            } else {
                due = now
            }
            let accessUnit = queue.removeFirst()
            queuedBytes -= accessUnit.reduce(0) { $0 + $1.bytes.count }
            packetizeAndQueue(accessUnit, timestamp: rtpTimestamp(at: due), now: now)
        }
    }

    private func packetizeAndQueue(_ accessUnit: [H264NALUnit], timestamp: UInt32, now: UInt64) {
        for unit in accessUnit where unit.isParameterSet { sentParameterSets.observe(unit) }
        let force = resendPending && sentParameterSets.current != nil
        let hasIDR = accessUnit.contains(where: \.isIDR)
        let packets = packetizer.packetize(accessUnit: accessUnit, timestamp: timestamp, parameterSets: sentParameterSets.current,
                                           forceParameterSets: force)
        if force {
            resendPending = false
            statistics.parameterSetResends += 1
            logger.debug("re-sent SPS/PPS for a keyframe request")
        }
        statistics.accessUnits += 1
        if hasIDR { statistics.idrPictures += 1 }
        lastTimestamp = timestamp
        // Spread a large picture over half a frame interval in bursts of 8 packets, so a
        // receiver's socket buffer is not flooded by one frame.
        let bursts = (packets.count + 7) / 8
        let spacing = bursts > 1 ? (frameInterval / 2) / UInt64(bursts) : 0
        let start = max(now, pacerHead < pacer.count ? pacer[pacer.count - 1].due : now)
        for (index, packet) in packets.enumerated() {
            let sequenceNumber = packet.readBigEndianUInt16(at: 2)
            pacer.append(PacedPacket(bytes: packet, sequenceNumber: sequenceNumber, due: start + UInt64(index / 8) * spacing))
        }
        sendDuePackets(now: now)
    }

    private func sendDuePackets(now: UInt64) {
        while pacerHead < pacer.count, pacer[pacerHead].due <= now {
            let packet = pacer[pacerHead]
            pacerHead += 1
            sendRTP(packet.bytes)
            history.record(packet.bytes, sequenceNumber: packet.sequenceNumber)
        }
        if pacerHead == pacer.count {
            pacer.removeAll(keepingCapacity: true)
            pacerHead = 0
        }
    }

    /// The history keeps plain packets; each (re)transmission is protected on its way out.
    private func sendRTP(_ plain: [UInt8]) {
        let packet: [UInt8]
        do {
            packet = try srtpOut?.protectRTP(plain) ?? plain
        } catch {
            statistics.sendErrors += 1
            return
        }
        if rtpSocket.send(packet, to: configuration.destinationRTP) {
            statistics.packetsSent += 1
            statistics.bytesSent += packet.count
        } else {
            statistics.sendErrors += 1
        }
    }

    // MARK: RTCP

    private func reportInterval() -> UInt64 {
        let elapsed = Double(max(MonotonicClock.now() &- origin, 1)) / 1e9
        let bandwidth = max(Double(statistics.bytesSent) / max(elapsed, 1), 1000)
        let deterministic = interval.deterministic(members: 1 + max(reporters.count, 1), senders: 1, weSent: true, initial: false,
                                                   sessionBandwidth: bandwidth, averagePacketSize: averageRTCPSize)
        return interval.randomized(deterministic: deterministic, unit: Double.random(in: 0...1)).nanoseconds
    }

    private func sendReport(now: UInt64, goodbye: String?) {
        let ntp = NTPTimestamp.now()
        var packets: [RTCPPacket] = [
            .senderReport(SenderReport(ssrc: configuration.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtpTimestamp(at: now),
                                       packetCount: UInt32(truncatingIfNeeded: statistics.packetsSent),
                                       octetCount: UInt32(truncatingIfNeeded: statistics.bytesSent - statistics.packetsSent * RTPHeader.size))),
            .sourceDescription([SDESChunk(ssrc: configuration.ssrc, items: [SDESItem(type: SDESChunk.cnameItem, text: configuration.cname)])]),
        ]
        if let goodbye { packets.append(.goodbye(Goodbye(sources: [configuration.ssrc], reason: goodbye))) }
        let plain = RTCPCodec.encode(packets)
        let compound: [UInt8]
        do {
            compound = try (options.srtcp ? srtpOut?.protectRTCP(plain) : nil) ?? plain
        } catch {
            statistics.sendErrors += 1
            nextReportDue = now + reportInterval()
            return
        }
        if (rtcpSocket ?? rtpSocket).send(compound, to: configuration.destinationRTCP) {
            statistics.rtcpSent += 1
            reportsSent.record(ntp)
        } else {
            statistics.sendErrors += 1
        }
        averageRTCPSize = averageRTCPSize * 15 / 16 + Double(compound.count + 28) / 16
        nextReportDue = now + reportInterval()
    }

    private func receiveRTCP(on socket: UDPSocket, now: UInt64) {
        for _ in 0..<64 {
            guard let (received, from) = socket.receive() else { return }
            // RFC 5761 §4: with RTP and RTCP on one port, 192…223 in the second byte is RTCP.
            guard received.count >= 2, (192...223).contains(received[1]) else { continue }
            statistics.rtcpReceived += 1
            let bytes: [UInt8]
            do {
                bytes = try srtcpIn?.unprotectRTCP(received) ?? received
            } catch {
                statistics.rtcpErrors[error.code.rawValue, default: 0] += 1
                logger.debug("refused an SRTCP packet", metadata: ["error": "\(error)", "from": "\(from?.description ?? "?")"])
                continue
            }
            let packets: [RTCPPacket]
            do {
                packets = try RTCPCodec.decode(bytes)
            } catch {
                statistics.rtcpErrors[error.code.rawValue, default: 0] += 1
                logger.debug("refused an RTCP packet", metadata: ["error": "\(error)", "from": "\(from?.description ?? "?")"])
                continue
            }
            if let transition = watchdog?.heard(at: now), transition == .resumed {
                statistics.feedbackSilent = false
                emit(.state(.feedbackResumed))
            }
            let arrival = NTPTimestamp.now()
            for packet in packets {
                if case .receiverReport(let report) = packet, reporters.count < 64 { reporters.insert(report.ssrc) }
                for action in policy.handle(packet, now: now, arrival: arrival, history: reportsSent) {
                    perform(action, now: now)
                }
            }
            statistics.feedback = policy.counters
            statistics.lastReport = policy.lastReport
            statistics.rembBitrate = policy.lastREMB
        }
    }

    private func perform(_ action: FeedbackAction, now: UInt64) {
        switch action {
        case .resendParameterSets:
            resendPending = true
        case .retransmit(let sequenceNumbers):
            for sequenceNumber in sequenceNumbers {
                guard retransmissionBudget.take(now: now) else {
                    statistics.retransmissionsLimited += 1
                    continue
                }
                if let packet = history.packet(sequenceNumber) {
                    sendRTP(packet)
                    statistics.retransmittedPackets += 1
                } else {
                    statistics.retransmissionMisses += 1
                }
            }
        case .targetBitrate(let bitrate):
            guard let change = adaptation?.estimate(bitrate, now: now) else { return }
            do {
                try applyBitrate(change)
            } catch {
                requestStop(reason: error.code.rawValue)
            }
        }
    }

    private func applyBitrate(_ bitrate: UInt64) throws(StreamError) {
        guard try source.apply(bitrate: bitrate) else { return }
        parser.reset()
        _ = assembler.finish()
        statistics.sourceBitrate = bitrate
        statistics.sourceRestarts += 1
        emit(.state(.bitrateChanged, ["bitrateBps": .number(Double(bitrate))]))
        logger.info("source restarted at a new bitrate", metadata: ["bitrate": "\(bitrate)"])
    }

    private func checkWatchdog(now: UInt64) -> String? {
        guard case .lost(let silence) = watchdog?.check(now: now) else { return nil }
        statistics.feedbackSilent = true
        emit(.state(.feedbackLost, ["silentSeconds": .number(Double(silence.components.seconds)),
                                    "policy": .string(options.onFeedbackLoss.rawValue)]))
        logger.warning("no RTCP feedback from the receiver", metadata: ["silence": "\(silence)"])
        return options.onFeedbackLoss == .stop ? "feedback_lost" : nil
    }

    // MARK: Statistics and the end

    private func emitStatistics(now: UInt64) {
        let elapsed = Double(now &- statsTimeMark) / 1e9
        statistics.bitrateKbps = elapsed > 0 ? Double(statistics.bytesSent - statsBytesMark) * 8 / elapsed / 1000 : 0
        statsBytesMark = statistics.bytesSent
        statsTimeMark = now
        nextStatsDue = now + options.statsInterval.nanoseconds
        statistics.durationSeconds = Double(now &- origin) / 1e9
        emit(.statistics(statistics))
    }

    private func publishSnapshot(now: UInt64) {
        if playing { statistics.durationSeconds = Double(now &- origin) / 1e9 }
        let copy = statistics
        control.withLock { $0.statistics = copy }
    }

    private func finish(reason: String) {
        let now = MonotonicClock.now()
        if playing {
            sendDuePackets(now: UInt64.max)
            sendReport(now: now, goodbye: reason)
        }
        source.close()
        rtpSocket.close()
        rtcpSocket?.close()
        publishSnapshot(now: now)
        if playing {
            emitStatistics(now: now)
            emit(.state(.stopped, ["reason": .string(reason)]))
            logger.info("stream stopped", metadata: ["reason": "\(reason)", "packets": "\(statistics.packetsSent)"])
        }
        prepared.fulfill(.failure(StreamError(.notStreaming, "the stream ended before it was ready: \(reason)")))
        finished.fulfill(statistics)
    }
}
