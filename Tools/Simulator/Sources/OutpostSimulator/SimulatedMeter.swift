import OutpostAgent
import Synchronization

/// A meter that captures exactly `rate` readings per second, whatever the scheduler's jitter:
/// each collection returns the readings owed since the first one (rate × elapsed, minus
/// those already given). The values come from a ``MeterSource`` (an AC meter's voltage,
/// current, power, energy and frequency, in turn), so they look like a real meter's.
///
/// Like the real agent, it collects at most every ``minimumInterval``: at higher rates one
/// collection carries several readings, and the buffer commits them as a group.
public final class SimulatedMeter: ReadingSource {
    /// The shortest interval between collections. Defaults to 100 ms.
    public static let minimumInterval: Duration = .milliseconds(100)

    private struct State {
        var startedAt: ContinuousClock.Instant?
        var emitted: Int64 = 0
        var spare: [Sample] = []
    }

    public let name = "sim"
    public let rate: Double
    private let meter: MeterSource
    private let state = Mutex(State())

    public init(rate: Double, seed: UInt64) {
        self.rate = rate
        self.meter = MeterSource(name: "sim", kind: .ac, seed: seed)
    }

    /// How often the scheduler should call ``collect()``: once per reading, but not more often than ``minimumInterval``.
    public var interval: Duration {
        max(Self.minimumInterval, .milliseconds(Int64((1_000 / rate).rounded())))
    }

    public func collect() async throws(SourceError) -> SourceOutput {
        let now = ContinuousClock.now
        let owed = state.withLock { state -> Int in
            let started = state.startedAt ?? now
            state.startedAt = started
            let elapsed = started.duration(to: now).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            // The first collection captures one reading at once; then the rate holds.
            let due = Int64((rate * seconds).rounded(.down)) + 1
            defer { state.emitted = max(state.emitted, due) }
            return Int(max(0, due - state.emitted))
        }
        guard owed > 0 else { return SourceOutput(samples: []) }
        var samples = state.withLock { state in
            let taken = Array(state.spare.prefix(owed))
            state.spare.removeFirst(taken.count)
            return taken
        }
        while samples.count < owed {
            var fresh = try await meter.collect().samples
            let needed = owed - samples.count
            if fresh.count > needed {
                let rest = Array(fresh[needed...])
                fresh.removeLast(fresh.count - needed)
                state.withLock { $0.spare = rest }
            }
            samples.append(contentsOf: fresh)
        }
        return SourceOutput(samples: samples)
    }
}
