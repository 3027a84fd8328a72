#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostMQTT
import OutpostWire
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Batches out of the buffer, within the window and the drain rate.
extension Publisher {
    // MARK: Outgoing readings

    /// Fills the window: re-sends what is due, then new batches, within the drain rate.
    func pump(_ client: MQTTClient) async {
        while !Task.isCancelled {
            await pumpWakeup.wait(timeout: .milliseconds(100))
            guard client.isConnected else { continue }
            do {
                while !Task.isCancelled, client.isConnected, try await sendNext(client) {}
            } catch {
                logger.error("reading the buffer failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Sends one batch if one is due and allowed (a new one only within the controller's window).
    /// Returns false when there is nothing to do now.
    func sendNext(_ client: MQTTClient) async throws -> Bool {
        let now = monotonicMs
        let (resend, cursor, hasRoom, newBatch, allowance) = state.withLock { state in
            (state.window.dueForResend(nowMs: now).first, state.window.cursor,
             state.window.hasRoom && state.window.entries.count < state.controller.windowBatches,
             min(settings.batchSize, state.controller.batchReadings),
             state.rate.allowance(nowMs: now, limit: settings.batchSize))
        }
        let readings: [Reading]
        let isResend: Bool
        let readStarted = monotonicMs
        if let resend {
            readings = try await buffer.readings(in: resend.span, limit: settings.batchSize)
            if readings.isEmpty {
                state.withLock { $0.window.forget(resend.span) }
                return true
            }
            isResend = true
        } else if hasRoom {
            readings = try await buffer.readings(after: cursor, limit: newBatch)
            guard !readings.isEmpty else { return false }
            isResend = false
        } else {
            return false
        }
        if allowance < readings.count {
            let delay = state.withLock { state in
                state.rateLimited = true
                return state.rate.delayMs(until: readings.count)
            }
            logger.debug("drain: rate wait", metadata: ["count": "\(readings.count)", "wait_ms": "\(max(1, delay))"])
            try? await Task.sleep(for: .milliseconds(max(1, delay)))
            return !Task.isCancelled
        }
        // Long metric names can push a full batch past the wire's size cap: send a prefix.
        var batch = TelemetryBatch(device: device, buffer: buffer.bufferID, readings: readings)
        var payload = try codec.encode(batch)
        while payload.count > codec.limits.maxPayloadBytes && batch.readings.count > 1 {
            batch.readings = Array(batch.readings.prefix(batch.readings.count / 2))
            payload = try codec.encode(batch)
        }
        let sent = batch.readings
        try client.publishDetached(topic(.telemetry), payload: payload)
        let sentAt = monotonicMs
        let (inflight, windowBatches) = state.withLock { state in
            state.rate.spend(sent.count, nowMs: sentAt)
            if isResend, let resend {
                state.window.recordResent(resend.span, nowMs: sentAt)
                state.figures.batchesResent += 1
            } else {
                state.window.recordSent(SeqRange(sent[0].seq, sent[sent.count - 1].seq), nowMs: sentAt)
                state.figures.batchesSent += 1
            }
            state.figures.inflightBatches = state.window.entries.count
            return (state.window.entries.count, state.controller.windowBatches)
        }
        logger.debug("drain: batch sent", metadata: [
            "first": "\(sent[0].seq)", "count": "\(sent.count)", "read_and_encode_ms": "\(sentAt - readStarted)",
            "inflight": "\(inflight)", "window": "\(windowBatches)", "resend": "\(isResend)",
        ])
        return true
    }
}
