import Testing
@testable import OutpostMQTT

/// The client's reconnect decisions, without a broker: events in, actions and delays out.
@Suite("MQTT connection state")
struct MQTTConnectionStateTests {
    /// Always draws the lowest value, so every delay is half its cap.
    struct LowestGenerator: RandomNumberGenerator {
        mutating func next() -> UInt64 { 0 }
    }

    var generator = LowestGenerator()
    var state = MQTTConnectionState(
        endpoint: "broker:8883", backoff: ReconnectBackoff(initial: 1, maximum: 8),
        refusedCertificateBackoff: ReconnectBackoff(initial: 120, maximum: 600))

    mutating func handle(_ event: MQTTConnectionState.Event) -> [MQTTConnectionState.Action] {
        state.handle(event, using: &generator)
    }

    static let lost = MQTTConnectionState.Failure(tls: false, reason: "The connection was lost.")

    @Test("an accepted CONNACK resubscribes, then reports the connection")
    mutating func connects() {
        #expect(handle(.connectRequested) == [.connect])
        #expect(!state.isConnected)
        #expect(handle(.connack(reasonCode: 0, reason: "", sessionPresent: true)) == [.resubscribe, .emit(.connected(sessionPresent: true))])
        #expect(state.isConnected)
    }

    @Test("failed attempts report the failure and back off exponentially, with jitter within the cap")
    mutating func backsOff() {
        var delays: [Double] = []
        for _ in 0..<5 {
            #expect(handle(.connectRequested) == [.connect])
            let actions = handle(.connectionEnded(Self.lost))
            #expect(actions.count == 2)
            guard case .fail(let error, let reason) = actions.first, case .reconnect(let delay) = actions.last else {
                Issue.record("unexpected actions \(actions)")
                return
            }
            #expect(error.code == .connectionLost)
            #expect(error.context == "connect to broker:8883: The connection was lost.")
            #expect(reason == "The connection was lost.")
            delays.append(delay)
        }
        #expect(delays == [0.5, 1, 2, 4, 4])
    }

    @Test("a TLS failure has the code tls")
    mutating func tlsFailure() {
        _ = handle(.connectRequested)
        let actions = handle(.connectionEnded(.init(tls: true, reason: "A TLS error occurred.")))
        #expect(actions == [.fail(MQTTError(.tls, ""), reason: "A TLS error occurred."), .reconnect(after: 0.5)])
    }

    @Test("a lost accepted connection reports the disconnect once and reconnects after the first delay")
    mutating func lostConnection() {
        _ = handle(.connectRequested)
        _ = handle(.connectionEnded(Self.lost))
        _ = handle(.connectRequested)
        _ = handle(.connack(reasonCode: 0, reason: "", sessionPresent: false))
        #expect(handle(.disconnected(reasonCode: 7)) == [.emit(.disconnected(reasonCode: 7))])
        #expect(handle(.disconnected(reasonCode: 7)) == [])
        #expect(!state.isConnected)
        // The successful CONNACK reset the backoff: no failure is reported, the delay starts over.
        #expect(handle(.connectionEnded(Self.lost)) == [.reconnect(after: 0.5)])
    }

    @Test("a refused CONNACK is reported, and the closed socket then counts as a failed attempt")
    mutating func refusedConnack() {
        _ = handle(.connectRequested)
        let refused = handle(.connack(reasonCode: 0x87, reason: "Not authorized", sessionPresent: false))
        #expect(refused == [.fail(MQTTError(.refused, ""), reason: "Not authorized")])
        if case .fail(let error, _) = refused.first {
            #expect(error.context == "broker refused CONNECT: Not authorized")
        }
        #expect(!state.isConnected)
        #expect(handle(.connectionEnded(Self.lost)) == [.fail(MQTTError(.connectionLost, ""), reason: Self.lost.reason), .reconnect(after: 0.5)])
    }

    @Test("a refused certificate is reported with OpenSSL's alert and retried on the slow backoff, which an ordinary failure resets")
    mutating func certificateRefused() {
        _ = handle(.connectRequested)
        #expect(handle(.certificateRefused(alert: "sslv3 alert certificate revoked")) == [])
        let first = handle(.connectionEnded(.init(tls: true, reason: "A TLS error occurred.")))
        #expect(first == [.fail(MQTTError(.certificateRefused, ""), reason: "sslv3 alert certificate revoked"), .reconnect(after: 60)])
        if case .fail(let error, _) = first.first {
            #expect(error.context == "the broker broker:8883 refused this client's certificate: sslv3 alert certificate revoked")
        }
        _ = handle(.certificateRefused(alert: "sslv3 alert certificate revoked"))
        #expect(handle(.connectionEnded(Self.lost)).last == .reconnect(after: 120))
        // A new attempt forgets the alert: this failure is ordinary and restarts the slow backoff.
        _ = handle(.connectRequested)
        #expect(handle(.connectionEnded(Self.lost)) == [.fail(MQTTError(.connectionLost, ""), reason: Self.lost.reason), .reconnect(after: 0.5)])
        _ = handle(.connectRequested)
        _ = handle(.certificateRefused(alert: "sslv3 alert certificate revoked"))
        #expect(handle(.connectionEnded(Self.lost)).last == .reconnect(after: 60))
    }

    @Test("after stop nothing connects or reconnects")
    mutating func stop() {
        _ = handle(.connectRequested)
        _ = handle(.connack(reasonCode: 0, reason: "", sessionPresent: false))
        #expect(handle(.stop) == [])
        #expect(!state.isConnected)
        #expect(handle(.connectionEnded(Self.lost)) == [])
        #expect(handle(.connectRequested) == [])
    }
}
