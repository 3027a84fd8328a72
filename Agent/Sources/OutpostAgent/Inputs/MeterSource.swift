import OutpostWire
import Synchronization

/// A simulated power meter. Values evolve by seeded random walks, so two runs with one
/// seed produce the same sequence of values.
///
/// - `dc`: `voltage_v` (~48 V), `current_a` (0-40 A), `power_w` = V × I, `energy_wh` (a counter).
/// - `ac`: `voltage_v` (~230 V), `current_a`, `power_w` = V × I × power factor,
///   `energy_wh`, `frequency_hz` (~50 Hz).
public final class MeterSource: ReadingSource {
    public enum Kind: String, Sendable {
        case ac, dc
    }

    private struct State {
        var random: SplitMix64
        var voltage: Double
        var current: Double
        var frequency: Double = 50
        var energyWh: Double = 0
        var lastMs: Int64?
    }

    public let name: String
    public let kind: Kind
    private let samplesPerCollect: Int
    private let metricName: @Sendable (String) -> String
    private let state: Mutex<State>

    public init(name: String, kind: Kind, seed: UInt64, samplesPerCollect: Int = 1, prefix: String? = nil) {
        self.name = name
        self.kind = kind
        self.samplesPerCollect = samplesPerCollect
        self.metricName = { metric in prefix.map { "\($0).\(metric)" } ?? metric }
        let nominal: Double = kind == .ac ? 230 : 48
        self.state = Mutex(State(random: SplitMix64(seed: seed), voltage: nominal, current: 8))
    }

    public func collect() async throws(SourceError) -> SourceOutput {
        let now = WireClock.nowMs()
        return SourceOutput(samples: state.withLock { state in
            var samples: [Sample] = []
            samples.reserveCapacity(samplesPerCollect * 5)
            for _ in 0..<samplesPerCollect { step(&state, nowMs: now, into: &samples) }
            return samples
        })
    }

    private func step(_ state: inout State, nowMs: Int64, into samples: inout [Sample]) {
        let nominal: Double = kind == .ac ? 230 : 48
        state.voltage += (nominal - state.voltage) * 0.1 + state.random.nextSigned() * nominal * 0.005
        state.current = min(40, max(0, state.current + state.random.nextSigned() * 0.8))
        let powerFactor = kind == .ac ? 0.95 : 1
        let power = state.voltage * state.current * powerFactor
        let elapsedMs = state.lastMs.map { max(0, nowMs - $0) } ?? 0
        state.lastMs = nowMs
        state.energyWh += power * Double(elapsedMs) / 3_600_000
        samples.append(Sample(ts: nowMs, metric: metricName("voltage_v"), value: state.voltage))
        samples.append(Sample(ts: nowMs, metric: metricName("current_a"), value: state.current))
        samples.append(Sample(ts: nowMs, metric: metricName("power_w"), value: power))
        samples.append(Sample(ts: nowMs, metric: metricName("energy_wh"), value: state.energyWh))
        if kind == .ac {
            state.frequency += (50 - state.frequency) * 0.2 + state.random.nextSigned() * 0.01
            samples.append(Sample(ts: nowMs, metric: metricName("frequency_hz"), value: state.frequency))
        }
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func nextSigned() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }
}
