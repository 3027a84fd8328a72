/// What `outpost-simulator` was asked to do, validated.
public struct SimulationOptions: Sendable, Equatable {
    /// The aggregator's config endpoint (`https://…`).
    public var server: String
    /// A file of printed tokens, one per line (`outpost-aggregator token create --device-prefix …`).
    public var tokensFile: String
    /// Each device lives in `stateDirectory/<device-id>/`.
    public var stateDirectory: String
    /// How many devices run; nil means every device in the token file.
    public var devices: Int?
    /// Readings per second per device. Defaults to 1.
    public var rate: Double
    /// How long capture runs; `.zero` means drain only; nil means until SIGTERM.
    public var duration: Duration?
    /// After capture, how long the buffers may take to empty before the exit status is 3. Defaults to 120 s.
    public var drainTimeout: Duration
    /// Where the JSON summary is written at exit, if anywhere.
    public var reportFile: String?
    /// Enrollments running at once. Defaults to 8.
    public var enrollConcurrency: Int

    /// The highest rate a simulated device may have: a real agent's buffer and publisher
    /// are tuned for thousands of readings per second, not more.
    public static let maximumRate: Double = 10_000
    public static let maximumDevices = 100_000

    public init(server: String, tokensFile: String, stateDirectory: String, devices: Int? = nil, rate: Double = 1,
                duration: Duration? = nil, drainTimeout: Duration = .seconds(120), reportFile: String? = nil,
                enrollConcurrency: Int = 8) throws(SimulationError) {
        guard server.hasPrefix("https://") else { throw SimulationError(.invalidArgument, "--server must be an https:// URL") }
        guard !tokensFile.isEmpty else { throw SimulationError(.invalidArgument, "--tokens FILE is required") }
        guard !stateDirectory.isEmpty else { throw SimulationError(.invalidArgument, "--state-dir DIR is required") }
        if let devices, !(1...Self.maximumDevices).contains(devices) {
            throw SimulationError(.invalidArgument, "--devices must be 1-\(Self.maximumDevices)")
        }
        guard rate.isFinite, rate > 0, rate <= Self.maximumRate else {
            throw SimulationError(.invalidArgument, "--rate must be more than 0 and at most \(Int(Self.maximumRate)) readings/s per device")
        }
        guard drainTimeout > .zero else { throw SimulationError(.invalidArgument, "--drain-timeout must be more than 0") }
        guard (1...64).contains(enrollConcurrency) else { throw SimulationError(.invalidArgument, "--enroll-concurrency must be 1-64") }
        self.server = server
        self.tokensFile = tokensFile
        self.stateDirectory = stateDirectory
        self.devices = devices
        self.rate = rate
        self.duration = duration
        self.drainTimeout = drainTimeout
        self.reportFile = reportFile
        self.enrollConcurrency = enrollConcurrency
    }

    /// Parses `500ms`, `30s`, `5m`, `2h` (a number, fractions allowed, and a unit; a bare `0` too).
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)]
        if text == "0" { return .zero }
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            // "5m" must not be read as "5" + "m" of "ms": the longer suffix is tried first.
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number),
                  value.isFinite, value >= 0, value * unit.seconds <= 365 * 86_400
            else { return nil }
            return .milliseconds(Int64((value * unit.seconds * 1_000).rounded()))
        }
        return nil
    }
}
