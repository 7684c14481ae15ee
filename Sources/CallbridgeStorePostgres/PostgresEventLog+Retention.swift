import CallbridgeModel
import CallbridgeStore
import PostgresNIO

extension PostgresEventLog {
    /// Events received before `$1` with nothing left to deliver (the rule of `RetentionLog`).
    static let prunableCondition = EventLogSQL.prunableCondition(cutoff: "$1")

    public func prunableCount(before cutoff: Timestamp) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(cutoff.millisecondsSinceEpoch)
        return try await database("count prunable events") {
            try await client.rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM events e WHERE \(Self.prunableCondition)", binds: binds),
                                  logger: logger) { try $0.decode(Int.self) }.first ?? 0
        }
    }

    /// One bounded transaction per batch. The batch's events are locked
    /// first (`FOR UPDATE`), which blocks a replay from adding
    /// a delivery to them, and the condition is checked again on delete: an
    /// event that gained work in between is kept.
    @discardableResult
    public func prune(before cutoff: Timestamp, batchSize: Int = 1000) async throws -> Int {
        let size = max(1, batchSize)
        var total = 0
        while true {
            var binds = PostgresBindings()
            binds.append(cutoff.millisecondsSinceEpoch)
            binds.append(Int64(size))
            let deleted = try await database("prune events") {
                try await client.withTransaction(logger: logger) { [logger, binds] connection -> (locked: Int, deleted: Int) in
                    var ids: [String] = []
                    for try await id in try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT e.id FROM events e WHERE \(Self.prunableCondition) ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED
                        """, binds: binds), logger: logger).decode(String.self) {
                        ids.append(id)
                    }
                    guard !ids.isEmpty else { return (0, 0) }
                    var deleteBinds = PostgresBindings()
                    deleteBinds.append(cutoff.millisecondsSinceEpoch)
                    deleteBinds.append(ids)
                    var deleted = 0
                    for try await _ in try await connection.query(PostgresQuery(unsafeSQL: """
                        DELETE FROM events e WHERE e.id = ANY($2::text[]) AND \(Self.prunableCondition) RETURNING 1
                        """, binds: deleteBinds), logger: logger) {
                        deleted += 1
                    }
                    return (ids.count, deleted)
                }
            }
            total += deleted.deleted
            if deleted.locked < size { return total }
        }
    }
}
