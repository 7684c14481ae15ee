import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `SQLiteEventLog.backup(to:)` wrote and checked.
public struct SQLiteBackupSummary: Sendable, Equatable {
    /// The finished copy (renamed into place only after it passed its checks).
    public var path: String
    /// The copy's size in bytes.
    public var bytes: Int64
    /// Events in the copy: the log as it stood when the copy's read transaction began.
    public var events: Int
    /// Deliveries in the copy.
    public var deliveries: Int
    /// The schema migrations the copy holds (the same as the live log's).
    public var migrations: [String]
}

/// Why a backup was refused or failed. Nothing is left at the target path on any of these.
public enum SQLiteBackupError: Error, CustomStringConvertible, Equatable {
    case targetExists(path: String)
    case targetDirectoryMissing(path: String)
    case integrityCheckFailed(path: String, detail: String)

    public var description: String {
        switch self {
        case .targetExists(let path):
            return "\(path) exists already: a backup never overwrites a file; choose a new name or remove it first"
        case .targetDirectoryMissing(let path):
            return "the folder \(path) does not exist"
        case .integrityCheckFailed(let path, let detail):
            return "the copy written to \(path) failed PRAGMA integrity_check (\(detail)); it was removed"
        }
    }
}

extension SQLiteEventLog {
    /// Writes a consistent copy of the live log to `path`, while servers keep
    /// writing to it.
    ///
    /// The copy is `VACUUM INTO`, which runs in one read transaction: in WAL mode it
    /// sees the log as of that transaction's start (every committed event,
    /// none half-written) and blocks no writer. It is written to
    /// `PATH.partial`, checked (`PRAGMA integrity_check`, the migrations, the
    /// counts), fsynced, and only then renamed to `path`, so a file at `path`
    /// is always a whole, checked backup. The copy is a normal log file:
    /// restoring is stopping the servers and putting it where
    /// `storage.sqlite` points (its `-wal` and `-shm` files removed).
    ///
    /// - Throws: `SQLiteBackupError` when `path` exists or its folder does
    ///   not, or when the copy fails its check.
    public func backup(to path: String) async throws -> SQLiteBackupSummary {
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let folder = target.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SQLiteBackupError.targetDirectoryMissing(path: folder.path)
        }
        guard !FileManager.default.fileExists(atPath: target.path) else {
            throw SQLiteBackupError.targetExists(path: target.path)
        }
        let partial = target.path + ".partial"
        // A .partial left by a crashed backup is ours to replace.
        try? FileManager.default.removeItem(atPath: partial)
        do {
            // Outside a GRDB transaction: VACUUM INTO refuses to run inside
            // one, and takes its own read transaction (the snapshot).
            try await dbPool.unsafeRead { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [partial])
            }
            let summary = try Self.check(copyAt: partial, finalPath: target.path)
            try Self.fsync(path: partial)
            // link(2) refuses an existing target, so a file that appeared meanwhile is never replaced.
            guard Glibc.link(partial, target.path) == 0 else {
                let code = errno
                if code == EEXIST { throw SQLiteBackupError.targetExists(path: target.path) }
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "link \(partial) → \(target.path): \(String(cString: strerror(code)))"])
            }
            Glibc.unlink(partial)
            try Self.fsync(path: folder.path)
            return summary
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    private static func check(copyAt path: String, finalPath: String) throws -> SQLiteBackupSummary {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            let verdict = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard verdict == ["ok"] else {
                throw SQLiteBackupError.integrityCheckFailed(path: finalPath, detail: verdict.prefix(3).joined(separator: "; "))
            }
            let migrations = try SQLiteSchema.migrator.appliedIdentifiers(db).sorted()
            let events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0
            let deliveries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries") ?? 0
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            return SQLiteBackupSummary(path: finalPath, bytes: size, events: events, deliveries: deliveries, migrations: migrations)
        }
    }

    private static func fsync(path: String) throws {
        let descriptor = Glibc.open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        defer { Glibc.close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "fsync \(path): \(String(cString: strerror(errno)))"])
        }
    }
}
