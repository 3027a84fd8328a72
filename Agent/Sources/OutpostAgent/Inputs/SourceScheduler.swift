import Logging
import OutpostWire
import ServiceLifecycle
import Synchronization

/// Runs every source on its own interval and hands the samples to the buffer.
///
/// A failing, hanging or babbling source only affects itself: each runs in its own task,
/// exec commands are killed at their timeout or output cap, and every failure is counted,
/// logged (the first, then every 100th of a streak) and posted as a `source_error` event.
/// Intervals change at run time (``setInterval(_:for:)``), and ``collectNow(_:)`` wakes
/// a source at once. Stops at graceful shutdown, killing any command still running.
public final class SourceScheduler: Service, Sendable {
    /// Per-source figures for status and tests.
    public struct Counters: Sendable, Equatable, Codable {
        public var collections: Int64 = 0
        public var failures: Int64 = 0
        public var rejected: Int64 = 0
        public var samples: Int64 = 0
        public var lastError: String?
    }

    private final class Entry: Sendable {
        let source: any ReadingSource
        let interval: Mutex<Duration>
        let wakeup = Wakeup()
        let counters = Mutex(Counters())

        init(source: any ReadingSource, interval: Duration) {
            self.source = source
            self.interval = Mutex(interval)
        }
    }

    private let entries: [String: Entry]
    private let order: [String]
    private let buffer: ReadingBuffer
    private let events: EventQueue?
    private let logger: Logger

    public init(sources: [(source: any ReadingSource, interval: Duration)], buffer: ReadingBuffer, events: EventQueue?, logger: Logger) {
        var entries: [String: Entry] = [:]
        for item in sources { entries[item.source.name] = Entry(source: item.source, interval: item.interval) }
        self.entries = entries
        self.order = sources.map(\.source.name)
        self.buffer = buffer
        self.events = events
        self.logger = logger
    }

    public var sourceNames: [String] { order }

    public func interval(of name: String) -> Duration? { entries[name]?.interval.withLock { $0 } }

    /// Changes a source's interval; it takes effect at once. Returns false for an unknown source.
    @discardableResult
    public func setInterval(_ interval: Duration, for name: String) -> Bool {
        guard let entry = entries[name] else { return false }
        entry.interval.withLock { $0 = interval }
        entry.wakeup.signal()
        return true
    }

    /// Wakes the named sources (every source for nil) for a collection now.
    /// Returns the names woken, or nil when a name is unknown.
    public func collectNow(_ names: [String]? = nil) -> [String]? {
        let chosen = names ?? order
        guard chosen.allSatisfy({ entries[$0] != nil }) else { return nil }
        chosen.forEach { entries[$0]?.wakeup.signal() }
        return chosen
    }

    public func counters() -> [String: Counters] {
        entries.mapValues { $0.counters.withLock { $0 } }
    }

    public func run() async throws {
        guard !order.isEmpty else {
            // Nothing to collect; a service must still run until shutdown.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for name in self.order {
                    guard let entry = self.entries[name] else { continue }
                    group.addTask { await self.loop(entry) }
                }
                await group.waitForAll()
            }
        }
        logger.info("sources stopped")
    }

    private func loop(_ entry: Entry) async {
        var logger = self.logger
        logger[metadataKey: "source"] = "\(entry.source.name)"
        let clock = ContinuousClock()
        var streak = 0
        while !Task.isCancelled {
            let started = clock.now
            do {
                let output = try await entry.source.collect()
                if Task.isCancelled { break }
                await buffer.add(output.samples)
                entry.counters.withLock {
                    $0.collections += 1
                    $0.samples += Int64(output.samples.count)
                    $0.rejected += Int64(output.rejected)
                }
                if output.rejected > 0 {
                    logger.warning("source output had unreadable lines", metadata: ["rejected": "\(output.rejected)"])
                }
                streak = 0
            } catch {
                if Task.isCancelled { break }
                streak += 1
                entry.counters.withLock {
                    $0.collections += 1
                    $0.failures += 1
                    $0.lastError = error.description
                }
                if streak == 1 || streak % 100 == 0 {
                    logger.warning("source collection failed", metadata: ["code": "\(error.code)", "error": "\(error.context)", "streak": "\(streak)"])
                    events?.post(DeviceEvent.Kind.sourceError, [
                        "source": .string(entry.source.name), "code": .string(error.code.rawValue),
                        "message": .string(String(error.context.prefix(500))), "streak": .number(Double(streak)),
                    ])
                }
            }
            let interval = entry.interval.withLock { $0 }
            let elapsed = started.duration(to: clock.now)
            await entry.wakeup.wait(timeout: max(.zero, interval - elapsed))
        }
    }
}
