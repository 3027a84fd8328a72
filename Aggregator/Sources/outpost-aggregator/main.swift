import OutpostAggregator

/// Inside an `async` function the call resolves to `AsyncParsableCommand.main()`; at top
/// level it resolved to the synchronous `ParsableCommand.main()`, which cannot run async subcommands.
func runAggregator() async { await AggregatorCommand.main() }

await runAggregator()
