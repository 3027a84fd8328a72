import OutpostSupport
import OutpostWire

/// `ping`: answers `{"pong": true, "version": ..., "ts": ...}` at once.
public struct PingCommand: CommandHandler {
    public let name = "ping"
    public init() {}

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        ["pong": true, "version": .string(OutpostVersion.current), "ts": .number(Double(WireClock.nowMs()))]
    }
}

/// `set_interval`: `{"source": "meter", "interval_s": 5}` changes a source's interval
/// until the agent restarts. Answers the old and new intervals.
public struct SetIntervalCommand: CommandHandler {
    public let name = "set_interval"
    let scheduler: SourceScheduler

    public init(scheduler: SourceScheduler) { self.scheduler = scheduler }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        guard let source = command.args["source"]?.stringValue else {
            throw CommandFailure(.invalidArgs, "args.source names the source; known: \(scheduler.sourceNames.joined(separator: ", "))")
        }
        guard let seconds = command.args["interval_s"]?.doubleValue, seconds >= 0.01, seconds <= 86_400 else {
            throw CommandFailure(.invalidArgs, "args.interval_s must be a number of seconds, 0.01-86400")
        }
        guard let old = scheduler.interval(of: source) else {
            throw CommandFailure(.invalidArgs, "no source \(source); known: \(scheduler.sourceNames.joined(separator: ", "))")
        }
        scheduler.setInterval(.milliseconds(Int64((seconds * 1000).rounded())), for: source)
        return ["source": .string(source), "old_interval_s": .number(old.seconds), "interval_s": .number(seconds)]
    }
}

/// `collect_now`: `{"source": "meter"}` or `{}` for every source; collects at once.
public struct CollectNowCommand: CommandHandler {
    public let name = "collect_now"
    let scheduler: SourceScheduler

    public init(scheduler: SourceScheduler) { self.scheduler = scheduler }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        var names: [String]? = nil
        if let source = command.args["source"] {
            guard let name = source.stringValue else { throw CommandFailure(.invalidArgs, "args.source must be a string") }
            names = [name]
        }
        guard let woken = scheduler.collectNow(names) else {
            throw CommandFailure(.invalidArgs, "unknown source; known: \(scheduler.sourceNames.joined(separator: ", "))")
        }
        return ["sources": .array(woken.map { .string($0) })]
    }
}

/// `restart_agent`: answers, then the agent shuts down gracefully (flushing the buffer)
/// and exits 75; systemd (`RestartForceExitStatus=75`) starts it again.
public struct RestartAgentCommand: CommandHandler {
    public let name = "restart_agent"
    let lifecycle: AgentLifecycle

    public init(lifecycle: AgentLifecycle) { self.lifecycle = lifecycle }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        lifecycle.requestRestart()
        return ["restarting": true]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
