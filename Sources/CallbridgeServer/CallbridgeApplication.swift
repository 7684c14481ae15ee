import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import Hummingbird
import Logging

/// Assembles the Hummingbird application from validated parts: the loaded
/// handler routes, the open event log and the endpoint list.
public enum CallbridgeApplication {
    public static func make(
        config: CallbridgeConfig, handlers: HandlerSet, log: any EventLog, logger: Logger,
        clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
        deliveriesCommitted: @escaping @Sendable () -> Void = {},
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let ingest = IngestService(handlers: handlers, log: log, endpoints: config.endpoints, maxBodyBytes: config.maxBodyBytes, clock: clock,
                                   deliveriesCommitted: deliveriesCommitted)
        return Application(
            responder: CallbridgeResponder(ingest: ingest),
            configuration: .init(address: .hostname(config.listen.host, port: config.listen.port), serverName: "Callbridge"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.listen.port) },
            logger: logger
        )
    }

    /// Opens the log named by the config (creating the SQLite file if needed).
    public static func openLog(_ storage: CallbridgeConfig.Storage) throws -> any EventLog {
        switch storage {
        case .sqlite(let path, let full):
            return try SQLiteEventLog(path: path, synchronous: full ? .full : .normal)
        }
    }
}
