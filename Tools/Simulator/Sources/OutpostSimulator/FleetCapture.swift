import OutpostAgent
import ServiceLifecycle
import Synchronization

/// Runs every device's ``SourceScheduler`` until ``stop()`` (the capture duration is over)
/// or graceful shutdown, whichever comes first. After ``stop()`` it stays in the group, idle,
/// so that the publishers keep draining.
final class FleetCapture: Service, Sendable {
    private let schedulers: [SourceScheduler]
    private let stopRequested = Atomic<Bool>(false)
    private let stopSignal = Wakeup()
    private let finished = Wakeup()
    private let isFinished = Atomic<Bool>(false)

    init(schedulers: [SourceScheduler]) {
        self.schedulers = schedulers
    }

    /// Ends capture now; returns once no scheduler adds to a buffer any more.
    func stop() async {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        stopSignal.signal()
        while !isFinished.load(ordering: .sequentiallyConsistent) {
            await finished.wait(timeout: .milliseconds(100))
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                for scheduler in schedulers {
                    group.addTask { try? await scheduler.run() }
                }
                group.addTask {
                    while !Task.isCancelled && !self.stopRequested.load(ordering: .sequentiallyConsistent) {
                        await self.stopSignal.wait(timeout: .seconds(1))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        isFinished.store(true, ordering: .sequentiallyConsistent)
        finished.signal()
        try? await gracefulShutdown()
    }
}
