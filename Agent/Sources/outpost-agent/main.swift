import OutpostAgent

/// Top-level code resolves `AgentCommand.main()` to ArgumentParser's synchronous overload,
/// which refuses an async command; inside an async function the async overload wins.
func runAgent() async { await AgentCommand.main() }

await runAgent()
