import OutpostAgent

await AgentCommand.main()
