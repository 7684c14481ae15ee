import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// How hard SQLite works to make each commit durable (`PRAGMA synchronous`).
///
/// `.full` (the default) fsyncs the WAL on every commit, so an acked event
/// survives a power loss. `.normal` survives a process crash but may lose the
/// last commits on power loss; it is faster and only suitable where that
/// trade-off was chosen on purpose.
public enum SQLiteSynchronous: String, Sendable, Hashable, CaseIterable {
    case full = "FULL"
    case normal = "NORMAL"
}

/// Why the SQLite event log refused an operation (other failures surface as
/// GRDB `DatabaseError`s).
public enum SQLiteEventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `openReadOnly` was given a path where no database file exists.
    case databaseNotFound(path: String)
    /// The file is not a Callbridge log, or its schema predates migrations
    /// this build needs; opening it read-write once migrates it.
    case schemaNotMigrated(path: String, missing: [String])
    /// `append` on a log opened with `openReadOnly`.
    case readOnly
    /// A stored row could not be turned back into the model.
    case corruptRow(table: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .databaseNotFound(let path):
            return "no event log database at \(path)"
        case .schemaNotMigrated(let path, let missing):
            return "the database at \(path) lacks event log migrations \(missing.joined(separator: ", ")); open it read-write (e.g. start the server) to migrate it"
        case .readOnly:
            return "this event log was opened read-only"
        case .corruptRow(let table, let key, let reason):
            return "corrupt row in \(table) (\(key)): \(reason)"
        }
    }
}

/// The embedded `EventLog`: one SQLite file in WAL mode, accessed through a
/// GRDB `DatabasePool` (one writer, concurrent readers).
///
/// Invariants:
/// - `append` returns only after the transaction holding the event, its raw
///   request and its pending deliveries has committed (`synchronous=FULL` by
///   default, so the commit is on disk).
/// - Concurrent appends are group-committed: one write transaction per batch,
///   each record isolated by a savepoint so a failing record never discards
///   the others (see `GroupCommitQueue`).
/// - At most one event per `(provider, dedupKey)` when the key is non-nil.
/// - A read-only instance (`openReadOnly`) never writes and can read while
///   another process appends.
public final class SQLiteEventLog: EventLog, Sendable {
    /// The database file.
    public let path: String
    /// Whether this instance was opened with `openReadOnly`.
    public let isReadOnly: Bool

    let dbPool: DatabasePool
    let batchWriter: AppendBatchWriter
    private let queue: GroupCommitQueue<IngestRecord, AppendOutcome>
    /// Group commit for finished delivery attempts (see `complete`).
    let completionQueue: GroupCommitQueue<Completion, Bool>

    /// Opens (creating it and its parent directories if needed) the log at
    /// `path` for reading and writing, and migrates it to the current schema.
    /// `clock` stamps each append commit (the one clock seam, `SystemClock`).
    public convenience init(path: String, synchronous: SQLiteSynchronous = .full,
                            clock: @escaping @Sendable () -> Timestamp = SystemClock.now) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let pool = try DatabasePool(path: path, configuration: Self.configuration(readOnly: false))
        // Set on the pool's single writer connection, after GRDB's WAL setup
        // (which sets NORMAL, so `prepareDatabase` would be overridden).
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        try SQLiteSchema.migrator.migrate(pool)
        self.init(path: path, pool: pool, readOnly: false, clock: clock)
    }

    /// Opens an existing log for reading only, e.g. for the CLI while a server
    /// process is appending to the same file. Never creates or migrates.
    ///
    /// - Throws: `SQLiteEventLogError.databaseNotFound` when no file exists at
    ///   `path`; `.schemaNotMigrated` when the file is not (yet) a log this
    ///   build can read.
    public static func openReadOnly(path: String) throws -> SQLiteEventLog {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw SQLiteEventLogError.databaseNotFound(path: path)
        }
        let pool = try DatabasePool(path: path, configuration: configuration(readOnly: true))
        let migrator = SQLiteSchema.migrator
        let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
        let missing = migrator.migrations.filter { !applied.contains($0) }
        guard missing.isEmpty else {
            throw SQLiteEventLogError.schemaNotMigrated(path: path, missing: missing)
        }
        return SQLiteEventLog(path: path, pool: pool, readOnly: true, clock: SystemClock.now)
    }

    private init(path: String, pool: DatabasePool, readOnly: Bool, clock: @escaping @Sendable () -> Timestamp) {
        self.path = path
        self.isReadOnly = readOnly
        self.dbPool = pool
        let writer = AppendBatchWriter(dbPool: pool, clock: clock)
        self.batchWriter = writer
        // The queue captures the writer, not `self`: no reference cycle, so
        // dropping the log closes the database.
        self.queue = GroupCommitQueue { records in try await writer.write(records) }
        self.completionQueue = GroupCommitQueue { batch in try await Completion.writeBatch(batch, in: pool) }
    }

    private static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.label = "callbridge.eventlog"
        return configuration
    }

    /// Number of append write transactions committed by this instance.
    public var commitCount: Int { batchWriter.statistics.commitCount }

    /// Number of events stored (not counting duplicates or failed records) by
    /// this instance.
    public var appendedCount: Int { batchWriter.statistics.appendedCount }

    public func append(_ record: IngestRecord) async throws -> AppendOutcome {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await queue.submit(record)
    }

    /// Writes `records` as one batch in one transaction, bypassing the queue:
    /// the exact code path the queue's drain loop uses. For tests.
    func writeBatch(_ records: [IngestRecord]) async throws -> [Result<AppendOutcome, any Error>] {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await batchWriter.write(records)
    }

    /// The connection's `PRAGMA synchronous` value (0 off, 1 normal, 2 full), for tests.
    func synchronousPragma() async throws -> Int {
        try await dbPool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }
}
