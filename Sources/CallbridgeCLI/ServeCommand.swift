import CallbridgeModel
import ArgumentParser
import CallbridgeCrypto
import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeServer
import CallbridgeStore
import CallbridgeTransport
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `callbridge serve`: load config and handlers, open the log, then run the
/// HTTP listener and the dispatcher in one `ServiceGroup` that shuts both
/// down gracefully on SIGTERM/SIGINT (listener first, then the dispatcher
/// finishes in-flight attempts and releases its leases).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server and the dispatcher.")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Override listen.port from the config (0 picks a free port).")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Log format: text (human-readable, standard error) or json (one object per line, standard output).")
    var logFormat: LogFormat = .text

    /// How `serve` writes its log lines.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func run() async throws {
        var config = try options.load()
        if let port { config.listen.port = port }
        var logger: Logger
        switch logFormat {
        case .text: logger = Logger(label: "callbridge") { TextLogHandler(label: $0) }
        case .json: logger = Logger(label: "callbridge") { JSONLogHandler(label: $0) }
        }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        config.connectionLimits.maxConnections = ServeCommand.fitConnectionsToDescriptors(config.connectionLimits.maxConnections, logger: logger)

        let handlers: HandlerSet
        do {
            handlers = try HandlerDirectoryLoader(directory: config.handlersDirectory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
        } catch {
            throw CLIError("handler files are invalid:\n\(error)")
        }
        for (route, reference) in handlers.unresolvedSecrets {
            logger.warning("route will refuse requests until its secret is set", metadata: ["route": "\(route)", "secret": "\(reference)"])
        }
        for handler in handlers.providers where !handler.statusAPIUnresolved.isEmpty {
            logger.notice("status checks are off for this provider until its settings are set; its returns stay hints", metadata: [
                "provider": "\(handler.provider)", "missing": "\(handler.statusAPIUnresolved.joined(separator: ","))",
            ])
        }
        // The one clock seam (docs/ARCHITECTURE.md, decision 51): every part of serve reads this clock.
        let clock = SystemClock.now
        let log: any EventLog
        do {
            log = try await CallbridgeApplication.openLog(config.storage, logger: logger, clock: clock)
        } catch {
            throw CLIError("cannot open the log (\(config.storage)): \(error)")
        }
        let transport: CurlTransport
        do {
            let perHost = max(32, config.endpoints.map(\.maxInFlight).max() ?? 32)
            transport = try CurlTransport(configuration: .init(maxHostConnections: perHost, userAgent: "Callbridge/\(CallbridgeVersion.current)"))
        } catch {
            throw CLIError("cannot start the HTTP client: \(error)")
        }
        let owner = ServeCommand.leaseOwner()
        let metrics = CallbridgeMetrics()
        // The process's one registry also receives anything recorded through
        // swift-metrics (libraries); bootstrapped here, in the executable only.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let dispatcher: Dispatcher
        do {
            dispatcher = try Dispatcher(
                log: log, transport: transport, endpoints: config.endpoints,
                configuration: .init(
                    owner: owner, pollInterval: .milliseconds(config.dispatch.pollInterval.milliseconds),
                    shutdownGrace: .milliseconds(config.dispatch.shutdownGrace.milliseconds),
                    breakerThreshold: config.dispatch.breakerFailures, breakerCooldown: config.dispatch.breakerCooldown,
                    userAgent: "Callbridge/\(CallbridgeVersion.current)", leaseMargin: config.dispatch.leaseMargin
                ),
                logger: logger, clock: clock, metrics: metrics.delivery
            )
        } catch {
            throw CLIError("\(error)")
        }

        logger.info("starting", metadata: [
            "listen": "\(config.listen.host):\(config.listen.port)", "routes": "\(handlers.routes.count)",
            "endpoints": "\(config.endpoints.map(\.name).joined(separator: ","))", "storage": "\(config.storage)", "lease_owner": "\(owner)",
        ])
        for route in handlers.routes {
            logger.info("route", metadata: ["route": "\(route.qualifiedName)", "path": "\(route.pattern)", "methods": "\(route.methods.sorted().joined(separator: ","))"])
        }
        let statusAPIs = handlers.statusAPIs
        let checker = StatusCheckWorker(
            log: log, transport: transport, specs: config.statusChecks.enabled ? statusAPIs : [:], endpoints: config.endpoints,
            settings: config.statusChecks, owner: owner, logger: logger, clock: clock, metrics: metrics.statusChecks, ingestMetrics: metrics.ingest,
            shutdownGrace: .milliseconds(config.dispatch.shutdownGrace.milliseconds), deliveriesCommitted: { dispatcher.wake() }
        )
        for (provider, spec) in statusAPIs.sorted(by: { $0.key < $1.key }) {
            logger.info("status checks", metadata: [
                "provider": "\(provider)", "after_returns": "\(spec.afterReturns)", "poll": "\(spec.poll.map { ConfigDuration(milliseconds: $0).description }.joined(separator: ","))",
                "enabled": "\(config.statusChecks.enabled)",
            ])
        }
        let startedLogger = logger
        let app = CallbridgeApplication.make(
            config: config, handlers: handlers, log: log, logger: logger, metrics: metrics, clock: clock,
            deliveriesCommitted: { dispatcher.wake() },
            statusChecksCommitted: { checker.wake() },
            breakerStates: { await dispatcher.breakerStates() },
            onServerRunning: { port in startedLogger.info("listening", metadata: ["port": "\(port)"]) }
        )
        // Services stop in reverse order: the listener first, then the status checks and the dispatcher.
        var services: [any Service] = [dispatcher, checker, app]
        if let days = config.retentionDays {
            services.insert(RetentionService(log: log, days: days, logger: logger, clock: clock), at: 0)
        }
        if let shared = log as? any DeliveryNotifying {
            // Another process's commits wake this dispatcher (LISTEN/NOTIFY).
            services.insert(DeliveryWatchService(log: shared, dispatcher: dispatcher), at: 0)
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            await transport.shutdown()
            await log.close()
            throw error
        }
        await transport.shutdown()
        await log.close()
        logger.info("stopped")
    }

    /// Descriptors kept for everything but client connections: the log, libcurl's connections, the PostgreSQL pool.
    static let reservedDescriptors = 128

    /// Raises the soft descriptor limit toward the hard one as far as
    /// `limits.max_connections` needs, and lowers `max_connections` (with a
    /// warning) when even that is not enough: running out of descriptors would
    /// refuse commits and deliveries, not only new clients.
    static func fitConnectionsToDescriptors(_ wanted: Int, logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(resourceNoFile, &limit) == 0 else { return wanted }
        let needed = rlim_t(clamping: wanted.saturatingAdding(reservedDescriptors))
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(resourceNoFile, &raised) == 0 { limit = raised }
        }
        let available = Int(clamping: limit.rlim_cur) - reservedDescriptors
        guard available < wanted else { return wanted }
        let fitted = max(16, available)
        logger.warning("limits.max_connections lowered to fit the open-file limit", metadata: [
            "max_connections": "\(fitted)", "configured": "\(wanted)", "nofile": "\(limit.rlim_cur)",
        ])
        return fitted
    }

    #if canImport(Glibc)
    static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    static let resourceNoFile = RLIMIT_NOFILE
    #endif

    /// `host-pid-random`: unique per process, readable in the log's lease columns.
    static func leaseOwner() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host.isEmpty ? "callbridge" : host)-\(getpid())-\(ByteEncoding.hex(SecureRandom.bytes(3)))"
    }
}
