import CallbridgeModel
import CallbridgeStore
import GRDB

extension SQLiteEventLog {
    static let prunableCondition = EventLogSQL.prunableCondition(cutoff: "?")

    public func prunableCount(before cutoff: Timestamp) async throws -> Int {
        try await dbPool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events e WHERE \(Self.prunableCondition)", arguments: [cutoff.millisecondsSinceEpoch]) ?? 0
        }
    }

    @discardableResult
    public func prune(before cutoff: Timestamp, batchSize: Int = 1000) async throws -> Int {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        var total = 0
        while true {
            // One bounded transaction per batch, so ingest is never blocked for long.
            let deleted = try await dbPool.write { db in
                try db.execute(sql: """
                    DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE \(Self.prunableCondition) LIMIT ?)
                    """, arguments: [cutoff.millisecondsSinceEpoch, max(1, batchSize)])
                return db.changesCount
            }
            total += deleted
            if deleted < max(1, batchSize) { return total }
        }
    }
}
