import Foundation
import LocalServers

/// One device-side process of the fleet: an `outpost-simulator` holding several
/// devices, or one real `outpost-agent run`.
final class DeviceProcess {
    enum Role {
        /// Restarted with the same command line and the capture time that remains.
        case simulator(tokens: String, stateDirectory: String, report: String)
        /// `run` with the device's configuration; at the end, `drainConfig` (no sources) empties the buffer.
        case agent(config: String, drainConfig: String)
    }

    struct Device {
        var id: String
        var bufferPath: String
    }

    let name: String
    let role: Role
    let devices: [Device]
    /// When simulated capture ends (simulators only); a restart gets what remains.
    var captureEnds: ContinuousClock.Instant
    var process: ServerProcess?
    /// The simulator finished: capture over, every buffer drained, exit 0.
    var finished = false

    init(name: String, role: Role, devices: [Device], captureEnds: ContinuousClock.Instant) {
        self.name = name
        self.role = role
        self.devices = devices
        self.captureEnds = captureEnds
    }

    var isSimulator: Bool {
        if case .simulator = role { true } else { false }
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// Whole seconds of capture left, never negative.
    var remainingCaptureSeconds: Int {
        let left = captureEnds - ContinuousClock.now
        return max(0, Int((Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18).rounded(.up)))
    }
}
