import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import Logging

/// The `callbridge` executable: serve, read the log, check handler files.
public struct CallbridgeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "callbridge",
        abstract: "Receive payment callbacks and browser returns, log them durably, and forward them.",
        version: CallbridgeVersion.current,
        subcommands: [
            ServeCommand.self, EventsCommand.self, ReplayCommand.self, PruneCommand.self, EndpointsCommand.self, OrdersCommand.self, HandlersCommand.self,
            SimulateCommand.self, SignCommand.self, VerifyCommand.self, SecretCommand.self, LogCommand.self,
        ]
    )

    public init() {}
}

/// The release version, reported by `--version` and in `user-agent`.
public enum CallbridgeVersion {
    public static let current = "0.1.0"
}

/// `--config FILE`, shared by every subcommand that reads the config.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path to callbridge.yaml.")
    var config: String = "./callbridge.yaml"

    /// - Parameter requireSecrets: false for commands that only read the log or
    ///   switch endpoints, which never use a secret.
    func load(requireSecrets: Bool = true) throws -> CallbridgeConfig {
        try ConfigOption.load(path: config, requireSecrets: requireSecrets)
    }

    /// Loads a config file by path. (A `ConfigOption` cannot be built by hand:
    /// ArgumentParser's property wrappers only work on parsed values.)
    static func load(path: String, requireSecrets: Bool = true) throws -> CallbridgeConfig {
        do {
            return try CallbridgeConfig.load(path: path, secrets: SecretSource(environment: ProcessEnvironment.variables), requireSecrets: requireSecrets)
        } catch {
            throw CLIError("invalid configuration: \(error)")
        }
    }
}

/// A failure the user can act on, printed without a stack trace; exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension CallbridgeCommand {
    /// Parses the process arguments and runs the chosen subcommand asynchronously.
    public static func runAsMain() async {
        let main: ([String]?) async -> Void = Self.main
        await main(nil)
    }
}
