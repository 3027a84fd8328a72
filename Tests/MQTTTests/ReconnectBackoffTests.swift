import Testing
@testable import OutpostMQTT

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test("backoff grows, is jittered within bounds, and resets")
    func backoff() {
        var backoff = ReconnectBackoff(initial: 1, maximum: 8)
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<6).map { _ in backoff.nextDelay(using: &generator) }
        let caps: [Double] = [1, 2, 4, 8, 8, 8]
        for (delay, cap) in zip(delays, caps) {
            #expect(delay >= cap / 2 && delay <= cap)
        }
        backoff.reset()
        #expect(backoff.nextDelay(using: &generator) <= 1)
    }
}
