/// The campaign's plan: which process to kill next, how long to wait before the kill, and
/// how long it stays dead before its restart. A pure function of the seed and the settings.
///
/// Kinds are drawn from a shuffled bag (every kind once, in random order, then a fresh
/// bag), so any four consecutive rounds of faults hit every kind that has a process;
/// a short quick run cannot miss PostgreSQL by bad luck. Within a kind, the process is
/// drawn uniformly.
///
/// The gap is measured from the moment the previous victim is back up, so the fleet
/// always gets a stretch of normal operation between faults, however long a restart took.
public struct FaultSchedule: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Seconds of normal operation between one restart and the next kill.
        public var gapSeconds: ClosedRange<Double>
        /// Seconds a killed process stays down before its restart.
        public var restartDelaySeconds: ClosedRange<Double>
        /// How many device processes (simulators and agents) and aggregators can be hit.
        public var deviceProcesses: Int
        public var aggregators: Int
        /// How many brokers can be hit.
        public var brokers: Int

        public init(gapSeconds: ClosedRange<Double>, restartDelaySeconds: ClosedRange<Double>, deviceProcesses: Int, aggregators: Int,
                    brokers: Int = 1) {
            self.brokers = brokers
            self.gapSeconds = gapSeconds
            self.restartDelaySeconds = restartDelaySeconds
            self.deviceProcesses = deviceProcesses
            self.aggregators = aggregators
        }
    }

    /// One planned fault.
    public struct Fault: Sendable, Equatable {
        /// 1-based.
        public var number: Int
        /// Seconds to wait, after the previous restart, before this kill.
        public var gapSeconds: Double
        public var target: FaultTarget
        /// Seconds between the kill and the restart.
        public var restartDelaySeconds: Double
    }

    public let seed: UInt64
    public let settings: Settings
    private var generator: SeededGenerator
    private var bag: [FaultKind] = []
    private var planned = 0

    public init(seed: UInt64, settings: Settings) {
        self.seed = seed
        self.settings = settings
        generator = SeededGenerator(seed: seed)
    }

    /// The kinds that have at least one process to kill.
    public var kinds: [FaultKind] {
        FaultKind.allCases.filter { count(of: $0) > 0 }
    }

    /// The next fault of the plan. The plan is endless; the campaign stops asking when its window closes.
    public mutating func next() -> Fault {
        if bag.isEmpty { bag = kinds.shuffled(using: &generator) }
        let kind = bag.removeFirst()
        let index = Int.random(in: 0..<count(of: kind), using: &generator)
        let gap = Self.tenths(Double.random(in: settings.gapSeconds, using: &generator))
        let delay = Self.tenths(Double.random(in: settings.restartDelaySeconds, using: &generator))
        planned += 1
        return Fault(number: planned, gapSeconds: gap, target: FaultTarget(kind, index), restartDelaySeconds: delay)
    }

    private func count(of kind: FaultKind) -> Int {
        switch kind {
        case .device: settings.deviceProcesses
        case .aggregator: settings.aggregators
        case .broker: settings.brokers
        case .database: 1
        }
    }

    /// Rounded to a tenth of a second, as printed, so a replay waits exactly what the log says.
    private static func tenths(_ seconds: Double) -> Double { (seconds * 10).rounded() / 10 }
}
