import Testing
@testable import OutpostMQTT

/// The client's reconnect decisions, without a broker: events in, actions and delays out.
@Suite("MQTT connection state")
struct MQTTConnectionStateTests {
    var state = MQTTConnectionState(
        endpoint: "broker:8883", backoff: ReconnectBackoff(initial: 1, maximum: 8),
        refusedCertificateBackoff: ReconnectBackoff(initial: 120, maximum: 600))

    static let lost = MQTTConnectionState.Failure(tls: false, reason: "The connection was lost.")

    /// The actions before a final `.reconnect(after:)`, and its delay (nil when there is none).
    static func split(_ actions: [MQTTConnectionState.Action]) -> ([MQTTConnectionState.Action], Double?) {
        guard case .reconnect(let delay) = actions.last else { return (actions, nil) }
        return (Array(actions.dropLast()), delay)
    }

    @Test("an accepted CONNACK resubscribes, then reports the connection")
    mutating func connects() {
        #expect(state.handle(.connectRequested) == [.connect])
        #expect(!state.isConnected)
        #expect(state.handle(.connack(reasonCode: 0, reason: "", sessionPresent: true)) == [.resubscribe, .emit(.connected(sessionPresent: true))])
        #expect(state.isConnected)
    }

    @Test("failed attempts report the failure and back off exponentially, with jitter within the cap")
    mutating func backsOff() {
        for cap: Double in [1, 2, 4, 8, 8] {
            #expect(state.handle(.connectRequested) == [.connect])
            let (actions, delay) = Self.split(state.handle(.connectionEnded(Self.lost)))
            #expect(actions == [.fail(MQTTError(.connectionLost, ""), reason: "The connection was lost.")])
            if case .fail(let error, _) = actions.first {
                #expect(error.context == "connect to broker:8883: The connection was lost.")
            }
            #expect(delay.map { (cap / 2)...cap ~= $0 } == true)
        }
    }

    @Test("a TLS failure has the code tls")
    mutating func tlsFailure() {
        _ = state.handle(.connectRequested)
        let (actions, delay) = Self.split(state.handle(.connectionEnded(.init(tls: true, reason: "A TLS error occurred."))))
        #expect(actions == [.fail(MQTTError(.tls, ""), reason: "A TLS error occurred.")])
        #expect(delay.map { 0.5...1 ~= $0 } == true)
    }

    @Test("a lost accepted connection reports the disconnect once and reconnects after a first delay")
    mutating func lostConnection() {
        for _ in 0..<3 {
            _ = state.handle(.connectRequested)
            _ = state.handle(.connectionEnded(Self.lost))
        }
        _ = state.handle(.connectRequested)
        _ = state.handle(.connack(reasonCode: 0, reason: "", sessionPresent: false))
        #expect(state.handle(.disconnected(reasonCode: 7)) == [.emit(.disconnected(reasonCode: 7))])
        #expect(state.handle(.disconnected(reasonCode: 7)) == [])
        #expect(!state.isConnected)
        // The accepted CONNACK reset the backoff: no failure is reported, the delay starts over.
        let (actions, delay) = Self.split(state.handle(.connectionEnded(Self.lost)))
        #expect(actions == [])
        #expect(delay.map { 0.5...1 ~= $0 } == true)
    }

    @Test("a refused CONNACK is reported, and the closed socket then counts as a failed attempt")
    mutating func refusedConnack() {
        _ = state.handle(.connectRequested)
        let refused = state.handle(.connack(reasonCode: 0x87, reason: "Not authorized", sessionPresent: false))
        #expect(refused == [.fail(MQTTError(.refused, ""), reason: "Not authorized")])
        if case .fail(let error, _) = refused.first {
            #expect(error.context == "broker refused CONNECT: Not authorized")
        }
        #expect(!state.isConnected)
        let (actions, delay) = Self.split(state.handle(.connectionEnded(Self.lost)))
        #expect(actions == [.fail(MQTTError(.connectionLost, ""), reason: Self.lost.reason)])
        #expect(delay != nil)
    }

    @Test("a refused certificate is reported with OpenSSL's alert and retried on the slow backoff, which an ordinary failure resets")
    mutating func certificateRefused() {
        let alert = "sslv3 alert certificate revoked"
        _ = state.handle(.connectRequested)
        #expect(state.handle(.certificateRefused(alert: alert)) == [])
        let (first, firstDelay) = Self.split(state.handle(.connectionEnded(.init(tls: true, reason: "A TLS error occurred."))))
        #expect(first == [.fail(MQTTError(.certificateRefused, ""), reason: alert)])
        if case .fail(let error, _) = first.first {
            #expect(error.context == "the broker broker:8883 refused this client's certificate: \(alert)")
        }
        #expect(firstDelay.map { 60...120 ~= $0 } == true)
        _ = state.handle(.connectRequested)
        _ = state.handle(.certificateRefused(alert: alert))
        #expect(Self.split(state.handle(.connectionEnded(Self.lost))).1.map { 120...240 ~= $0 } == true)
        // A new attempt forgets the alert: this failure is ordinary and restarts the slow backoff.
        _ = state.handle(.connectRequested)
        let (ordinary, ordinaryDelay) = Self.split(state.handle(.connectionEnded(Self.lost)))
        #expect(ordinary == [.fail(MQTTError(.connectionLost, ""), reason: Self.lost.reason)])
        #expect(ordinaryDelay.map { 0.5...1 ~= $0 } == true)
        _ = state.handle(.connectRequested)
        _ = state.handle(.certificateRefused(alert: alert))
        #expect(Self.split(state.handle(.connectionEnded(Self.lost))).1.map { 60...120 ~= $0 } == true)
    }

    @Test("after stop nothing connects or reconnects")
    mutating func stop() {
        _ = state.handle(.connectRequested)
        _ = state.handle(.connack(reasonCode: 0, reason: "", sessionPresent: false))
        #expect(state.handle(.stop) == [])
        #expect(!state.isConnected)
        #expect(state.handle(.connectionEnded(Self.lost)) == [])
        #expect(state.handle(.connectRequested) == [])
    }
}
