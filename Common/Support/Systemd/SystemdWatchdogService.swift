import ServiceLifecycle

/// Pets the systemd watchdog at half its interval while `isHealthy` says the process
/// is making progress; a hung process stops petting and systemd restarts it.
///
/// Also reports readiness once at start, and `STOPPING=1` at graceful shutdown.
public struct SystemdWatchdogService: Service {
    public let notifier: SystemdNotifier
    public let isHealthy: @Sendable () async -> Bool

    public init(notifier: SystemdNotifier = SystemdNotifier(), isHealthy: @escaping @Sendable () async -> Bool = { true }) {
        self.notifier = notifier
        self.isHealthy = isHealthy
    }

    public func run() async throws {
        notifier.ready()
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            notifier.stopping()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if await isHealthy() { notifier.watchdogPing() }
                try? await Task.sleep(for: interval / 2)
            }
        }
        notifier.stopping()
    }
}
