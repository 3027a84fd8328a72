import OutpostAgent

await AgentCommand.launch()
