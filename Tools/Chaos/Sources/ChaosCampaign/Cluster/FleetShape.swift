/// How many of each process the campaign runs, and how fast devices capture.
public struct FleetShape: Sendable, Equatable {
    /// `outpost-simulator` processes.
    public var simulators: Int
    public var devicesPerSimulator: Int
    /// Real `outpost-agent run` processes, one device each.
    public var agents: Int
    /// Readings per second per simulated device.
    public var rate: Double
    /// `outpost-aggregator serve` processes sharing the subscription.
    public var aggregators: Int
    /// Independent mosquitto brokers (`brokers` in the aggregators' configuration); devices
    /// are spread over them by the assignment, every aggregator connects to each.
    public var brokers: Int

    public init(simulators: Int, devicesPerSimulator: Int, agents: Int, rate: Double, aggregators: Int = 2, brokers: Int = 1) {
        self.brokers = brokers
        self.simulators = simulators
        self.devicesPerSimulator = devicesPerSimulator
        self.agents = agents
        self.rate = rate
        self.aggregators = aggregators
    }

    public var deviceProcesses: Int { simulators + agents }
    public var devices: Int { simulators * devicesPerSimulator + agents }

    /// The device ids of simulator `index` (0-based): `chaos-s1-00001` …, as the bulk token command names them.
    public func simulatedDevices(_ index: Int) -> [String] {
        (0..<devicesPerSimulator).map { "\(simulatorPrefix(index))\(Self.padded($0 + 1))" }
    }

    public func simulatorPrefix(_ index: Int) -> String { "chaos-s\(index + 1)-" }

    public func agentDevice(_ index: Int) -> String { "chaos-agent-\(index + 1)" }

    /// The index zero-padded to 5 digits, as `token create --device-prefix` does.
    static func padded(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}
