import Logging
import Testing
@testable import OutpostAgent
@testable import OutpostSupport
@testable import OutpostWire

@Suite("Command registry (pure)")
struct CommandRegistryTests {
    struct Echo: CommandHandler {
        let name = "echo"
        let runs: Counter
        func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
            runs.increment()
            guard let text = command.args["text"]?.stringValue else { throw CommandFailure(.invalidArgs, "text is required") }
            return ["text": .string(text)]
        }
    }

    final class Counter: @unchecked Sendable {
        private(set) var value = 0
        func increment() { value += 1 }
    }

    let logger = Logger(label: "test.commands")

    @Test("an extra handler runs; bad args, unknown names and expired commands get error results without running")
    func rules() async {
        let runs = Counter()
        let registry = CommandRegistry([PingCommand()])
        registry.register(Echo(runs: runs))
        #expect(registry.names == ["echo", "ping"])
        let ok = await registry.execute(Command(id: "c1", name: "echo", args: ["text": "hi"], expiresAt: 2_000), nowMs: 1_000, logger: logger)
        #expect(ok.ok && ok.output == ["text": "hi"])
        let bad = await registry.execute(Command(id: "c2", name: "echo", args: [:], expiresAt: 2_000), nowMs: 1_000, logger: logger)
        #expect(bad.error?.code == "invalid_args")
        let unknown = await registry.execute(Command(id: "c3", name: "reboot", expiresAt: 2_000), nowMs: 1_000, logger: logger)
        #expect(unknown.error?.code == "unknown_command")
        let expired = await registry.execute(Command(id: "c4", name: "echo", args: ["text": "x"], expiresAt: 2_000), nowMs: 2_000, logger: logger)
        #expect(expired.error?.code == "expired")
        #expect(runs.value == 2)
    }

    @Test("a duplicate delivery repeats the first result and does not run again")
    func duplicates() async {
        let runs = Counter()
        let registry = CommandRegistry([Echo(runs: runs)])
        let command = Command(id: "dup", name: "echo", args: ["text": "a"], expiresAt: 10_000)
        let first = await registry.execute(command, nowMs: 1, logger: logger)
        let second = await registry.execute(command, nowMs: 2, logger: logger)
        #expect(first == second)
        #expect(runs.value == 1)
    }
}
