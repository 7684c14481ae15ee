import ArgumentParser
import CallbridgeHandlers
import CallbridgeServer
import Hummingbird
import Logging

/// `callbridge serve`: load config and handlers, open the log, listen.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server.")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Override listen.port from the config (0 picks a free port).")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        var config = try options.load()
        if let port { config.listen.port = port }
        var logger = Logger(label: "callbridge")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let handlers: HandlerSet
        do {
            handlers = try HandlerDirectoryLoader(directory: config.handlersDirectory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
        } catch {
            throw CLIError("handler files are invalid:\n\(error)")
        }
        for (route, reference) in handlers.unresolvedSecrets {
            logger.warning("route will refuse requests until its secret is set", metadata: ["route": "\(route)", "secret": "\(reference)"])
        }
        let log = try CallbridgeApplication.openLog(config.storage)
        logger.info("starting", metadata: [
            "listen": "\(config.listen.host):\(config.listen.port)", "routes": "\(handlers.routes.count)",
            "endpoints": "\(config.endpoints.count)", "storage": "\(config.storage)",
        ])
        for route in handlers.routes {
            logger.info("route", metadata: ["route": "\(route.qualifiedName)", "path": "\(route.pattern)", "methods": "\(route.methods.sorted().joined(separator: ","))"])
        }
        let startedLogger = logger
        let app = CallbridgeApplication.make(config: config, handlers: handlers, log: log, logger: logger, onServerRunning: { port in
            startedLogger.info("listening", metadata: ["port": "\(port)"])
        })
        try await app.runService()
    }
}
