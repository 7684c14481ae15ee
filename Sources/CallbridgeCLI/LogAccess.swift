import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeStorePostgres
import Logging

/// How operator commands open the configured log, and close it afterwards.
///
/// Invariant: a read-only command never creates, migrates or writes a log;
/// SQLite is opened read-only (safe while a server writes to the file), and
/// PostgreSQL is connected without migrating (a schema behind this build is
/// refused with a message saying how to migrate it).
enum LogAccess {
    static func withLog<T>(_ config: CallbridgeConfig, readOnly: Bool, _ body: (any EventLog) async throws -> T) async throws -> T {
        let log = try await open(config, readOnly: readOnly)
        do {
            let result = try await body(log)
            await log.close()
            return result
        } catch {
            await log.close()
            throw error
        }
    }

    static func open(_ config: CallbridgeConfig, readOnly: Bool) async throws -> any EventLog {
        var logger = Logger(label: "callbridge")
        logger.logLevel = .warning
        do {
            switch (config.storage, readOnly) {
            case (.sqlite(let path, _), true):
                return try SQLiteEventLog.openReadOnly(path: path)
            case (.postgres(let url), true):
                return try await PostgresEventLog.connect(url: url, logger: logger, migrate: false)
            case (_, false):
                return try await CallbridgeApplication.openLog(config.storage, logger: logger)
            }
        } catch {
            throw CLIError("cannot open the log (\(config.storage)): \(error)")
        }
    }
}
