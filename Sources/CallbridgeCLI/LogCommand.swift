import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeStorePostgres
import Foundation
import Logging

/// `callbridge log copy`: move a SQLite event log into PostgreSQL, for a
/// deployment that outgrows one file (several processes sharing one log).
/// `callbridge log backup`: a consistent copy of a live SQLite log.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Back up the event log, or move it to another database.", subcommands: [Backup.self, Copy.self]
    )

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the live SQLite log to a new file, while servers keep running.",
            discussion: """
                The copy is SQLite's VACUUM INTO in one read transaction: it holds every event committed before \
                it began, none half-written, and blocks no server. It is written beside the target as \
                PATH.partial, checked (integrity_check, migrations, counts), fsynced and only then renamed, \
                so PATH is always a whole, checked backup. An existing PATH is never overwritten.

                To restore: stop every server, move the copy to the path storage.sqlite names (removing the old file's \
                -wal and -shm files), start again. A PostgreSQL log is backed up with PostgreSQL's own tools.

                Example:
                  callbridge log backup --config callbridge.yaml --to /var/backups/callbridge-$(date +%F).sqlite
                """
        )

        @OptionGroup var options: ConfigOption
        @Option(help: ArgumentHelp("The new file to write (it must not exist).", valueName: "PATH")) var to: String

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            guard case .sqlite(let path, _) = config.storage else {
                throw CLIError("log backup copies a SQLite log; \(config.file) uses PostgreSQL (storage.postgres): back it up with pg_dump or a base backup")
            }
            let log: SQLiteEventLog
            do {
                log = try SQLiteEventLog.openReadOnly(path: path)
            } catch {
                throw CLIError("cannot open the SQLite log \(path): \(error)")
            }
            defer { Task { await log.close() } }
            do {
                let summary = try await log.backup(to: to)
                print("backed up \(path) to \(summary.path): \(summary.events) event(s), \(summary.deliveries) deliveries, \(summary.bytes) bytes, integrity ok")
            } catch let error as SQLiteBackupError {
                throw CLIError("log backup: \(error)")
            } catch {
                throw CLIError("log backup failed: \(error)")
            }
        }
    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite event log into a PostgreSQL log, keeping every id.",
            discussion: """
                Stop every `callbridge serve` writing to the SQLite file before copying, and start none on the \
                PostgreSQL log until the copy has finished: events arriving during the copy would be missed.

                Events, raw requests, deliveries (with their state and leases), attempts, event revisions and \
                endpoint states are copied with their ids unchanged, --batch-size events per transaction. The \
                PostgreSQL schema is created if needed. The target must be empty or hold an interrupted copy of \
                this same log: rows copied already are skipped, so an interrupted copy is simply run again. At the \
                end the row counts of both logs are compared. Then set storage.postgres in callbridge.yaml.

                A URL with a password is best passed as a reference, in single quotes so that the shell leaves it \
                alone: --to 'postgres:${CALLBRIDGE_DATABASE_URL}' or --to postgres:file:/run/secrets/database-url. \
                Then the password is in neither the process list nor the shell history.

                Example:
                  callbridge log copy --from sqlite:./data/callbridge.sqlite --to 'postgres:${CALLBRIDGE_DATABASE_URL}'
                """
        )

        @Option(help: ArgumentHelp("The SQLite log to read, opened read-only.", valueName: "sqlite:PATH")) var from: String
        @Option(help: ArgumentHelp("The PostgreSQL log to write: a URL, or ${ENV_VAR} / file:PATH holding one (the postgres: prefix may be left out).",
                                   valueName: "postgres:postgres://USER@HOST:PORT/DATABASE")) var to: String
        @Option(help: "Events per transaction.") var batchSize: Int = 500

        func validate() throws {
            _ = try Copy.sqlitePath(from)
            _ = try Copy.postgresURL(to)
            guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 10000") }
        }

        /// The path of `sqlite:PATH`.
        static func sqlitePath(_ text: String) throws -> String {
            guard text.hasPrefix("sqlite:") else {
                throw ValidationError("--from must be a SQLite log, sqlite:PATH (e.g. sqlite:./data/callbridge.sqlite), not '\(text)'")
            }
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--from sqlite: names no file (sqlite:PATH)") }
            return path
        }

        /// The URL of `postgres:postgres://…`, of a bare `postgres://…` / `postgresql://…`, or of a
        /// `${ENV_VAR}` / `file:PATH` reference to one (after the optional `postgres:` prefix).
        static func postgresURL(_ text: String) throws -> PostgresURL {
            var url = text
            if url.hasPrefix("postgres:"), !url.hasPrefix("postgres://") { url.removeFirst("postgres:".count) }
            if let reference = SecretReference(url) {
                guard let value = SecretSource(environment: ProcessEnvironment.variables).resolve(reference) else {
                    throw ValidationError("--to: \(reference) is not set (or the file is empty)")
                }
                url = value.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw ValidationError("--to must be a PostgreSQL log, postgres:postgres://user:password@host:port/database")
            }
            do {
                return try PostgresURL(parsing: url)
            } catch {
                throw ValidationError("--to: \(error)")
            }
        }

        func run() async throws {
            let path = try Copy.sqlitePath(from)
            let url = try Copy.postgresURL(to)
            let source: SQLiteEventLog
            do {
                source = try SQLiteEventLog.openReadOnly(path: path)
            } catch {
                throw CLIError("cannot open the SQLite log sqlite:\(path): \(error)")
            }
            var logger = Logger(label: "callbridge")
            logger.logLevel = .warning
            let target: PostgresEventLog
            do {
                target = try await PostgresEventLog.connect(url: url, logger: logger, migrate: true)
            } catch {
                // The log's errors name the URL already (without the password).
                throw CLIError("cannot open the PostgreSQL log: \(error)")
            }
            do {
                let copied = try await copy(from: source, sourceName: "sqlite:\(path)", to: target)
                await target.close()
                print("copied \(copied) from sqlite:\(path) to \(url)")
            } catch let error as CLIError {
                await target.close()
                throw error
            } catch {
                await target.close()
                throw CLIError("log copy failed: \(error)")
            }
        }

        /// Copies everything and checks the counts; returns the source's counts.
        private func copy(from source: SQLiteEventLog, sourceName: String, to target: PostgresEventLog) async throws -> LogCopyCounts {
            let before = try await target.importCounts()
            if before.events > 0 {
                if let foreign = try await Copy.firstForeignEvent(in: target, source: source) {
                    throw CLIError("""
                        the target \(target.url) is not empty: it holds \(before.events) event(s), and some are not in \(sourceName) \
                        (e.g. \(foreign)); copy into an empty database, or into one holding an interrupted copy of this same log
                        """)
                }
                Copy.say("the target holds \(before.events) event(s) of an earlier copy; rows copied already are skipped")
            }

            let expected = try await source.exportCounts()
            Copy.say("copying \(expected) from \(sourceName) to \(target.url)")
            var exported = LogCopyCounts.zero
            var inserted = LogCopyCounts.zero
            var present = LogCopyCounts.zero
            // The ledger first, page by page (an order belongs to no single event).
            var orderCursor: Int64?
            while true {
                let orders = try await source.exportOrders(after: orderCursor, limit: batchSize)
                guard let last = orders.last else { break }
                let batch = LogCopyBatch(orders: orders)
                inserted += try await target.importBatch(batch)
                present += try await target.presentCounts(of: batch)
                exported += batch.counts
                orderCursor = last.id
            }
            var cursor: EventID?
            while true {
                let batch = try await source.exportBatch(after: cursor, limit: batchSize)
                guard let last = batch.lastEventID else { break }
                inserted += try await target.importBatch(batch)
                present += try await target.presentCounts(of: batch)
                exported += batch.counts
                cursor = last
                Copy.say("\(exported.events)/\(expected.events) events, \(exported.deliveries) deliveries, \(exported.attempts) attempts")
            }
            try await target.finishImport()
            let states = try await source.exportEndpointStates()
            inserted.endpointStates = try await target.importEndpointStates(states)
            present.endpointStates = try await target.presentEndpointStateCount(states)
            exported.endpointStates = states.count

            let after = try await source.exportCounts()
            guard after == expected, exported == expected else {
                throw CLIError("""
                    \(sourceName) changed during the copy (\(expected) before, \(after) after): stop every server writing to it, \
                    then copy again into an empty database
                    """)
            }
            let missing = zip(expected.byTable, present.byTable).filter { $0.count != $1.count }
            guard missing.isEmpty else {
                let tables = missing.map { "\($0.table): \($0.count) in the source, \($1.count) in the target as in the source" }
                    .joined(separator: "; ")
                throw CLIError("""
                    the copy is incomplete (\(tables)): the target holds rows with the same ids that differ, from another log \
                    or from an earlier copy taken before the source changed; copy into an empty database
                    """)
            }
            if inserted != expected {
                Copy.say("wrote \(inserted); the rest was there already")
            }
            return expected
        }

        /// The first event id of `target` that `source` lacks, if any.
        private static func firstForeignEvent(in target: PostgresEventLog, source: SQLiteEventLog) async throws -> EventID? {
            var cursor: EventID?
            while true {
                let ids = try await target.eventIDs(after: cursor, limit: 1000)
                guard let last = ids.last else { return nil }
                if let foreign = try await source.absentEventIDs(ids).first { return foreign }
                cursor = last
            }
        }

        /// Progress goes to standard error, so standard output is the summary alone.
        private static func say(_ line: String) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
