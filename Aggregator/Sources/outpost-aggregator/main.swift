import OutpostAggregator

await AggregatorCommand.main()
