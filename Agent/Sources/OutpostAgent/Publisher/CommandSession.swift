import OutpostMQTT
/// The centre's command messages of one MQTT session, and the way back for their results.
///
/// The publisher opens one per session and finishes ``messages`` when the session ends; the
/// ``CommandService`` runs what arrives and answers on the same session.
struct CommandSession: Sendable {
    /// The raw `cmd` payloads, in arrival order.
    let messages: AsyncStream<[UInt8]>
    let client: MQTTClient
    let publisher: Publisher

    var resultTopic: String { publisher.topic(.cmdResult) }

    /// Counts a message refused at decoding in the publisher's ``Publisher/Figures``.
    func refused() {
        publisher.state.withLock { $0.figures.refusedMessages += 1 }
    }

    /// Publishes without waiting for the broker.
    func publish(_ payload: [UInt8]) throws {
        try client.publishDetached(resultTopic, payload: payload)
    }

    /// Publishes and waits for the PUBACK, at most `timeout`. Returns whether it came.
    func publishConfirmed(_ payload: [UInt8], timeout: Duration) async -> Bool {
        await publisher.publishConfirmed(client, resultTopic, payload, retain: false, timeout: timeout)
    }
}
