import CMosquitto

/// The only place C calls into Swift. Each callback is a capture-free function that
/// recovers the owning ``MQTTClient`` from libmosquitto's userdata pointer (set with
/// `Unmanaged.passUnretained`; the client outlives its network thread, so the pointer
/// is always valid here) and hands the event to it. libmosquitto runs them on the
/// client's network thread only.
enum MosquittoCallbacks {
    static func install(on handle: OpaquePointer) {
        mosquitto_log_callback_set(handle) { _, userdata, level, message in
            guard let message else { return }
            owningClient(userdata)?.handleLog(level: level, message: String(cString: message))
        }
        mosquitto_connect_v5_callback_set(handle) { _, userdata, reasonCode, flags, _ in
            owningClient(userdata)?.handleConnack(reasonCode: reasonCode, sessionPresent: flags & 1 == 1)
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, userdata, reasonCode, _ in
            owningClient(userdata)?.handleDisconnect(reasonCode: reasonCode)
        }
        mosquitto_publish_v5_callback_set(handle) { _, userdata, messageID, reasonCode, _ in
            owningClient(userdata)?.handlePublishCompleted(messageID: messageID, reasonCode: reasonCode)
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, userdata, messageID, count, granted, _ in
            let grantedQoS = (0..<Int(max(count, 0))).map { granted?[$0] ?? 0x80 }
            owningClient(userdata)?.handleSubscribeCompleted(messageID: messageID, granted: grantedQoS)
        }
        mosquitto_message_v5_callback_set(handle) { _, userdata, message, _ in
            guard let message, let topic = message.pointee.topic else { return }
            let length = Int(max(message.pointee.payloadlen, 0))
            let payload: [UInt8] = if let bytes = message.pointee.payload, length > 0 {
                Array(UnsafeRawBufferPointer(start: bytes, count: length))
            } else {
                []
            }
            owningClient(userdata)?.handleMessage(
                MQTTMessage(
                    topic: String(cString: topic), payload: payload,
                    qos: message.pointee.qos >= 1 ? .atLeastOnce : .atMostOnce, retain: message.pointee.retain))
        }
    }
}

private func owningClient(_ userdata: UnsafeMutableRawPointer?) -> MQTTClient? {
    guard let userdata else { return nil }
    return Unmanaged<MQTTClient>.fromOpaque(userdata).takeUnretainedValue()
}
