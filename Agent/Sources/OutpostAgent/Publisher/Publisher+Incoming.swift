import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
import ServiceLifecycle
import Synchronization

/// Acks arriving from the centre, and its commands handed on to the ``CommandService``.
extension Publisher {
    // MARK: Incoming

    func consumeEvents(_ client: MQTTClient) async {
        // As many as the client itself holds undelivered: the command service takes them at
        // once, except while it still finishes the previous session's running command.
        let (commandMessages, commandInbox) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingOldest(256))
        commandSessionOpened.yield(CommandSession(messages: commandMessages, client: client, publisher: self))
        for await event in client.events {
            switch event {
            case .connected(let sessionPresent):
                let now = WireClock.nowMs()
                let monotonicNow = monotonicMs
                state.withLock { state in
                    state.figures.connected = true
                    state.figures.connectedSince = now
                    state.window.markAllForResend()
                    state.controller.reconnected()
                    state.rate.setRate(state.controller.readingsPerSecond, nowMs: monotonicNow)
                    state.figures.drainRate = state.controller.readingsPerSecond
                }
                logger.info("connected; re-sending unacknowledged batches", metadata: ["session_present": "\(sessionPresent)"])
                await publishState(client)
                pumpWakeup.signal()
                events.wakeup.signal()
            case .disconnected, .connectionFailed:
                state.withLock { $0.figures.connected = false }
            case .message(let message):
                if message.topic == topic(.ack) {
                    await handleAck(message.payload)
                } else if message.topic == topic(.cmd) {
                    if case .dropped = commandInbox.yield(message.payload) {
                        state.withLock { $0.figures.refusedMessages += 1 }
                        logger.warning("command dropped: 256 waiting for the command service")
                    }
                }
            }
        }
        commandInbox.finish()
    }

    func handleAck(_ payload: [UInt8]) async {
        let ack: Ack
        do {
            ack = try codec.decode(Ack.self, from: payload, topicDevice: device)
        } catch {
            state.withLock { $0.figures.refusedMessages += 1 }
            logger.warning("ack refused", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
            return
        }
        guard ack.buffer == buffer.bufferID else {
            logger.info("ack for another buffer ignored", metadata: ["ack_buffer": "\(ack.buffer)"])
            return
        }
        do {
            let received = monotonicMs
            let deleted = try await buffer.acknowledge(ack.ranges)
            let now = WireClock.nowMs()
            let monotonicNow = monotonicMs
            let (latencies, window, batch, rate) = state.withLock { state in
                // Latency of the batches this ack completes, first sends only (a re-send's ack may answer the first send).
                let firstSentAt = Dictionary(state.window.entries.map { ($0.span, $0.sends == 1 ? $0.sentAtMs : nil) },
                                             uniquingKeysWith: { first, _ in first })
                let completed = state.window.acknowledge(ack.ranges).compactMap { span in
                    (firstSentAt[span] ?? nil).map { (readings: Int(span.count), latencyMs: monotonicNow - $0) }
                }
                if !completed.isEmpty {
                    let rate = state.controller.acked(batches: completed, nowMs: monotonicNow, rateLimited: state.rateLimited, pressure: ack.pressure)
                    state.rate.setRate(rate, nowMs: monotonicNow)
                    state.rateLimited = false
                }
                let latencies = completed.map { $0.latencyMs - (monotonicNow - received) }
                state.figures.drainRate = state.controller.readingsPerSecond
                state.figures.lastAckAt = now
                state.figures.ackedReadings += Int64(deleted)
                state.figures.inflightBatches = state.window.entries.count
                return (latencies, state.controller.windowBatches, state.controller.batchReadings, state.controller.readingsPerSecond)
            }
            logger.debug("drain: ack", metadata: [
                "ranges": "\(ack.ranges.count)", "deleted": "\(deleted)", "round_trip_ms": "\(latencies)", "delete_ms": "\(monotonicNow - received)",
                "window": "\(window)", "batch": "\(batch)", "rate": "\(Int(rate))", "pressure": "\(ack.pressure.map { "\($0)" } ?? "none")",
            ])
            pumpWakeup.signal()
        } catch {
            // The readings stay; a later ack of the re-sent batch deletes them.
            logger.error("deleting acked readings failed", metadata: ["code": "\(error.code)", "error": "\(error.context)"])
        }
    }
}
