import GRDB

extension SQLiteEventLog {
    /// Starts and rolls back an immediate transaction: proves the file is
    /// open read-write and the write lock can be taken, without writing.
    /// Waits behind a group commit in progress (the busy timeout), no longer.
    public func writeProbeFailure() async -> String? {
        if isReadOnly { return "the log is open read-only" }
        do {
            try await dbPool.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "ROLLBACK")
            }
            return nil
        } catch {
            return "the log is not writable: \(error)"
        }
    }
}
