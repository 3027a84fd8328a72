/// Everything a campaign run needs to know. ``full(seed:)`` is `make chaos`;
/// ``quick(seed:)`` is `make chaos QUICK=1` and the campaign inside `make test`.
public struct CampaignSettings: Sendable {
    public var seed: UInt64
    public var quick: Bool
    /// Seconds during which faults are injected.
    public var windowSeconds: Int
    public var gapSeconds: ClosedRange<Double>
    public var restartDelaySeconds: ClosedRange<Double>
    public var shape: FleetShape
    /// Bound on building the fleet and enrolling every device.
    public var setupSeconds: Int
    /// Bound on every device having readings stored before the first fault.
    public var streamingSeconds: Int
    /// Bound on the catch-up after the last fault: simulators drained, agents drained.
    public var catchUpSeconds: Int
    public var binDirectory: String
    public var sourceRoot: String
    /// Where the fleet's files go; a fresh temporary directory when nil.
    public var workDirectory: String?
    /// Keep the work directory even when every check passed.
    public var keep: Bool

    public static func full(seed: UInt64, binDirectory: String, sourceRoot: String) -> CampaignSettings {
        CampaignSettings(seed: seed, quick: false, windowSeconds: 600, gapSeconds: 4...15, restartDelaySeconds: 1...8,
                         shape: FleetShape(simulators: 3, devicesPerSimulator: 10, agents: 1, rate: 2),
                         setupSeconds: 300, streamingSeconds: 120, catchUpSeconds: 420, binDirectory: binDirectory,
                         sourceRoot: sourceRoot, workDirectory: nil, keep: false)
    }

    public static func quick(seed: UInt64, binDirectory: String, sourceRoot: String) -> CampaignSettings {
        CampaignSettings(seed: seed, quick: true, windowSeconds: 75, gapSeconds: 3...7, restartDelaySeconds: 1...5,
                         shape: FleetShape(simulators: 2, devicesPerSimulator: 5, agents: 1, rate: 2),
                         setupSeconds: 240, streamingSeconds: 120, catchUpSeconds: 300, binDirectory: binDirectory,
                         sourceRoot: sourceRoot, workDirectory: nil, keep: false)
    }

    /// ``FailoverCampaign`` (`make chaos` and `make test-chaos` run it after the main campaign):
    /// the quick fleet, capturing for about as long as two failovers take.
    public static func failover(seed: UInt64, binDirectory: String, sourceRoot: String) -> CampaignSettings {
        CampaignSettings(seed: seed, quick: true, windowSeconds: 90, gapSeconds: 3...3, restartDelaySeconds: 0...0,
                         shape: FleetShape(simulators: 2, devicesPerSimulator: 5, agents: 1, rate: 2),
                         setupSeconds: 240, streamingSeconds: 120, catchUpSeconds: 300, binDirectory: binDirectory,
                         sourceRoot: sourceRoot, workDirectory: nil, keep: false)
    }

    /// The schedule's settings for this fleet.
    public var schedule: FaultSchedule.Settings {
        FaultSchedule.Settings(gapSeconds: gapSeconds, restartDelaySeconds: restartDelaySeconds,
                               deviceProcesses: shape.deviceProcesses, aggregators: shape.aggregators, brokers: shape.brokers)
    }

    /// Seconds each simulator captures: the fault window plus the few seconds the fleet
    /// usually takes to stream. When streaming starts later, the last faults fall into the
    /// simulators' drain, which the invariant covers just as well.
    public var captureSeconds: Int { windowSeconds + 5 }

    /// Seconds a simulator keeps draining after capture before it gives up (exit 3).
    public var drainTimeoutSeconds: Int { catchUpSeconds }

    /// The hard bound on the whole run; past it every process is killed and the run fails.
    public var wallTimeBoundSeconds: Int { setupSeconds + streamingSeconds + windowSeconds + 60 + catchUpSeconds + 120 }

    /// The command that replays this run.
    public var reproduce: String { "make chaos\(quick ? " QUICK=1" : "")\(shape.brokers > 1 ? " BROKERS=\(shape.brokers)" : "") SEED=\(seed)" }
}
