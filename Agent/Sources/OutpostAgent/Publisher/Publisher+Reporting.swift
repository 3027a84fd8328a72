import Logging
import OutpostMQTT
import OutpostSupport
import OutpostWire
import ServiceLifecycle
import Synchronization

/// Device state and events.
extension Publisher {
    // MARK: State and events

    func deviceState(_ status: DeviceState.Status, _ stats: BufferStats) -> DeviceState {
        let now = WireClock.nowMs()
        // The file the connection was made with: a renewal replaces it, then reconnects.
        let certificate = CertificateExpiry.identity(pemFile: brokerSettings().certFile)
        return DeviceState(
            device: device, status: status, ts: now, version: OutpostVersion.current, bufferDepth: Int64(stats.depth),
            oldestUnackedAgeMs: stats.oldestTs.map { max(0, now - $0) }, dropped: stats.dropped,
            certSerial: certificate?.serial, certNotAfter: certificate?.notAfterMs)
    }

    func publishState(_ client: MQTTClient) async {
        let stats = await buffer.stats()
        state.withLock { $0.reportedDropped = stats.dropped }
        do {
            try client.publishDetached(topic(.state), payload: try codec.encode(deviceState(.online, stats)), retain: true)
        } catch {
            logger.warning("state not sent", metadata: ["error": "\(error)"])
        }
    }

    /// Every 2 s: a state message when drops grew; every `state_interval_s`: a state message regardless.
    func report(_ client: MQTTClient) async {
        var sinceState: Duration = .zero
        let stateInterval = Duration.milliseconds(Int64(settings.stateIntervalS * 1000))
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            if Task.isCancelled { break }
            sinceState += .seconds(2)
            let stats = await buffer.stats()
            let previous = state.withLock { state in
                defer { state.reportedDropped = stats.dropped }
                return state.reportedDropped
            }
            if let previous, stats.dropped > previous {
                events.post(DeviceEvent.Kind.bufferDropped, ["dropped": .number(Double(stats.dropped - previous)), "total": .number(Double(stats.dropped))])
            }
            if client.isConnected && (sinceState >= stateInterval || (previous.map { stats.dropped > $0 } ?? false)) {
                sinceState = .zero
                try? client.publishDetached(topic(.state), payload: try codec.encode(deviceState(.online, stats)), retain: true)
            }
        }
    }

    func sendEvents(_ client: MQTTClient) async {
        while !Task.isCancelled {
            await events.wakeup.wait(timeout: .seconds(5))
            guard client.isConnected else { continue }
            let waiting = events.take()
            for (index, event) in waiting.enumerated() {
                do {
                    try client.publishDetached(topic(.events), payload: try codec.encode(event))
                } catch {
                    events.putBack(Array(waiting[index...]))
                    break
                }
            }
        }
    }
}
