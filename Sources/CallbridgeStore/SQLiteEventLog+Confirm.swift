import CallbridgeModel
import Foundation
import GRDB

extension SQLiteEventLog {
    public func confirm(_ event: Event, addingDeliveriesTo endpoints: [String]) async throws -> Int? {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        let now = AppendBatchWriter.currentTimestamp().millisecondsSinceEpoch
        return try await dbPool.write { db in
            // A new revision like any other: the unverified form is kept.
            guard try Self.writeRevision(event, in: db, now: now, onlyIfUnverified: true) else { return nil }
            let existing = Set(try String.fetchAll(db, sql: "SELECT endpoint FROM deliveries WHERE event_id = ?", arguments: [event.id.rawValue]))
            var added = Set<String>()
            for endpoint in endpoints where !existing.contains(endpoint) && added.insert(endpoint).inserted {
                try db.execute(sql: """
                    INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms)
                    VALUES (?, ?, 'pending', 0, ?, ?, ?)
                    """, arguments: [event.id.rawValue, endpoint, now, now, now])
            }
            return added.count
        }
    }
}
