import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeStorePostgres
import CallbridgeTransport
import Hummingbird
import HummingbirdCore
import Logging

/// Assembles the Hummingbird application from validated parts: the loaded
/// handler routes, the open event log and the endpoint list.
public enum CallbridgeApplication {
    /// - Parameter metrics: served on `/metrics`; pass the same value's
    ///   `delivery` to the dispatcher so its attempts show up there too.
    /// - Parameter breakerStates: the dispatcher's circuit breakers, shown by
    ///   `GET /admin/v1/endpoints` (nil: reported as not known).
    public static func make(
        config: CallbridgeConfig, handlers: HandlerSet, log: any EventLog, logger: Logger,
        metrics: CallbridgeMetrics = CallbridgeMetrics(),
        clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
        deliveriesCommitted: @escaping @Sendable () -> Void = {},
        statusChecksCommitted: @escaping @Sendable () -> Void = {},
        breakerStates: (@Sendable () async -> [String: String])? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let ingest = IngestService(handlers: handlers, log: log, endpoints: config.endpoints, maxBodyBytes: config.maxBodyBytes, clock: clock,
                                   deliveriesCommitted: deliveriesCommitted, statusChecks: config.statusChecks,
                                   statusChecksCommitted: statusChecksCommitted, metrics: metrics.ingest,
                                   clientAddress: ClientAddress(trustedProxies: config.listen.trustedProxies))
        return Application(
            // `/console` (the operator console, on the admin API) in front of everything else.
            responder: ConsoleResponder(inner: CallbridgeResponder(
                ingest: ingest, metrics: metrics,
                admin: AdminAPI(token: config.adminToken, log: log, endpoints: config.endpoints, handlers: handlers, clock: clock,
                                statusChecksRequested: statusChecksCommitted, breakerStates: breakerStates,
                                deliveriesCommitted: deliveriesCommitted),
                limits: config.connectionLimits
            ), enabled: config.consoleEnabled),
            server: .guardedHTTP1(limits: config.connectionLimits),
            configuration: .init(
                address: .hostname(config.listen.host, port: config.listen.port), serverName: "Callbridge",
                availableConnectionsDelegate: MaximumAvailableConnections(config.connectionLimits.maxConnections, logger: logger)
            ),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.listen.port) },
            logger: logger
        )
    }

    /// Opens the log named by the config read-write: creates the SQLite file
    /// if needed, or connects to PostgreSQL; either way migrates the schema.
    public static func openLog(_ storage: CallbridgeConfig.Storage, logger: Logger = Logger(label: "callbridge"),
                               clock: @escaping @Sendable () -> Timestamp = SystemClock.now) async throws -> any EventLog {
        switch storage {
        case .sqlite(let path, let full):
            return try SQLiteEventLog(path: path, synchronous: full ? .full : .normal, clock: clock)
        case .postgres(let url):
            return try await PostgresEventLog.connect(url: url, logger: logger, clock: clock)
        }
    }
}
