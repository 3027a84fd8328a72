import ServiceLifecycle
import Synchronization

/// Lets a command end the process the graceful way: ``requestRestart()`` marks it, and
/// once the command's result is published the ``CommandService`` calls ``performPendingRestart()``,
/// which triggers the service group's graceful shutdown; `run` then exits with
/// ``restartExitCode`` so that systemd starts the agent again.
public final class AgentLifecycle: Sendable {
    /// EX_TEMPFAIL; the unit sets `RestartForceExitStatus=75`, so a requested restart is
    /// honoured while `Restart=on-failure` still governs real failures.
    public static let restartExitCode: Int32 = 75

    private let restartRequested = Atomic<Bool>(false)
    private let group = Mutex<ServiceGroup?>(nil)

    public init() {}

    func attach(_ serviceGroup: ServiceGroup) {
        group.withLock { $0 = serviceGroup }
    }

    public func requestRestart() {
        restartRequested.store(true, ordering: .sequentiallyConsistent)
    }

    public var isRestartRequested: Bool { restartRequested.load(ordering: .sequentiallyConsistent) }

    func performPendingRestart() async {
        guard isRestartRequested, let serviceGroup = group.withLock({ $0 }) else { return }
        await serviceGroup.triggerGracefulShutdown()
    }
}
