import Logging
import OutpostAgent
import ServiceLifecycle
import Synchronization

/// Times the run: capture for the duration, then drain until every buffer is empty or the
/// drain timeout passes; then it returns, which shuts the group down gracefully (its
/// termination behaviour). A graceful shutdown (SIGTERM, SIGINT) ends either phase early.
final class SimulationSupervisor: Service, Sendable {
    enum Outcome: String, Sendable {
        /// Every buffer emptied: all captured readings were acknowledged.
        case drained
        /// SIGTERM or SIGINT: stopped early, readings may still be pending.
        case interrupted
        /// The drain timeout passed with readings still pending.
        case drainTimeout = "drain_timeout"
    }

    struct Timing: Sendable {
        var outcome: Outcome = .interrupted
        var captureSeconds: Double = 0
        var drainSeconds: Double = 0
    }

    private let devices: [SimulatedDevice]
    private let capture: FleetCapture
    private let duration: Duration?
    private let drainTimeout: Duration
    private let logger: Logger
    private let timing = Mutex(Timing())
    /// How often the buffers are checked while draining.
    static let pollInterval: Duration = .milliseconds(200)

    init(devices: [SimulatedDevice], capture: FleetCapture, duration: Duration?, drainTimeout: Duration, logger: Logger) {
        self.devices = devices
        self.capture = capture
        self.duration = duration
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    var result: Timing { timing.withLock { $0 } }

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        if let duration, duration > .zero {
            await cancelWhenGracefulShutdown { try? await Task.sleep(for: duration) }
        } else if duration == nil {
            try? await gracefulShutdown()
        }
        await capture.stop()
        let captureSeconds = Self.seconds(started.duration(to: clock.now))
        timing.withLock { $0.captureSeconds = captureSeconds }
        if Task.isShuttingDownGracefully {
            logger.notice("capture interrupted", metadata: ["capture_seconds": "\(captureSeconds)"])
            return
        }
        for device in devices { await device.buffer.commit() }
        logger.notice("capture over; draining", metadata: ["capture_seconds": "\(captureSeconds)"])
        let drainStarted = clock.now
        var outcome = Outcome.interrupted
        while !Task.isShuttingDownGracefully {
            var pending: Int64 = 0
            for device in devices { pending += await device.snapshot().pending }
            if pending == 0 {
                outcome = .drained
                break
            }
            if drainStarted.duration(to: clock.now) >= drainTimeout {
                outcome = .drainTimeout
                logger.error("drain timeout with readings pending", metadata: ["pending": "\(pending)"])
                break
            }
            await cancelWhenGracefulShutdown { try? await Task.sleep(for: Self.pollInterval) }
        }
        let drainSeconds = Self.seconds(drainStarted.duration(to: clock.now))
        timing.withLock {
            $0.outcome = outcome
            $0.drainSeconds = drainSeconds
        }
        logger.notice("drain over", metadata: ["outcome": "\(outcome.rawValue)", "drain_seconds": "\(drainSeconds)"])
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
