import CallbridgeCLI

await CallbridgeCommand.runAsMain()
