import OutpostAggregator

await AggregatorCommand.start()
