import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// `ConsoleLog` on SQLite: read-only queries over the copied envelope
/// columns of `events`, `attempts` and the status-check tables.
extension SQLiteEventLog {
    public func searchEvents(_ search: EventSearch) async throws -> [Event] {
        guard search.limit > 0 else { return [] }
        var conditions: [String] = []
        var arguments = StatementArguments()
        func add(_ clause: String, _ value: some DatabaseValueConvertible) {
            conditions.append(clause)
            arguments += [value]
        }
        if let provider = search.provider { add("provider = ?", provider) }
        if let type = search.type { add("type = ?", type.rawValue) }
        if let channel = search.channel { add("channel = ?", channel.rawValue) }
        if let verified = search.verified { add("verified = ?", verified ? 1 : 0) }
        if let orderID = search.orderID { add("order_id = ?", orderID) }
        if let since = search.since { add("received_at_ms >= ?", since.millisecondsSinceEpoch) }
        if let until = search.until { add("received_at_ms <= ?", until.millisecondsSinceEpoch) }
        if let before = search.before { add("id < ?", before.rawValue) }
        if let after = search.after { add("id > ?", after.rawValue) }
        arguments += [search.limit]
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT id, envelope FROM events \(whereClause) ORDER BY id DESC LIMIT ?"
        return try await dbPool.read { [arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.decodeEvent)
        }
    }

    public func activity(since: Timestamp, until: Timestamp, bucketMilliseconds step: Int64) async throws -> [ActivityBucket] {
        let empty = ActivityBucket.empty(since: since, until: until, step: step)
        guard !empty.isEmpty else { return [] }
        let from = since.millisecondsSinceEpoch
        let to = until.millisecondsSinceEpoch
        return try await dbPool.read { db in
            var buckets = empty
            for row in try Row.fetchAll(db, sql: """
                SELECT (received_at_ms - ?) / ? AS bucket, COUNT(*) AS n
                FROM events WHERE received_at_ms >= ? AND received_at_ms < ? GROUP BY bucket
                """, arguments: [from, step, from, to]) {
                let index: Int64 = row["bucket"]
                guard index >= 0, index < buckets.count else { continue }
                buckets[Int(index)].events = row["n"]
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT (started_at_ms - ?) / ? AS bucket, COUNT(*) AS n,
                       SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok,
                       SUM(duration_ms) AS total, MAX(duration_ms) AS longest
                FROM attempts WHERE started_at_ms >= ? AND started_at_ms < ? GROUP BY bucket
                """, arguments: [from, step, from, to]) {
                let index: Int64 = row["bucket"]
                guard index >= 0, index < buckets.count else { continue }
                buckets[Int(index)].attempts = row["n"]
                buckets[Int(index)].succeeded = row["ok"]
                buckets[Int(index)].totalDurationMilliseconds = row["total"]
                buckets[Int(index)].maxDurationMilliseconds = row["longest"]
            }
            return buckets
        }
    }

    public func recentStatusCheckTries(limit: Int) async throws -> [RecentStatusCheckTry] {
        guard limit > 0 else { return [] }
        return try await dbPool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.id, c.provider, c.order_id, t.started_at_ms, t.duration_ms, t.http_status, t.outcome, t.reason, t.error, t.answer_event_id
                FROM status_check_tries t JOIN status_checks c ON c.id = t.check_id
                ORDER BY t.id DESC LIMIT ?
                """, arguments: [limit]).map { row in
                let outcomeText: String = row["outcome"]
                let reasonText: String = row["reason"]
                guard let outcome = StatusCheckOutcome(rawValue: outcomeText), let reason = StatusCheckReason(rawValue: reasonText) else {
                    throw SQLiteEventLogError.corruptRow(table: "status_check_tries", key: "\(row["id"] as Int64)", reason: "bad outcome or reason")
                }
                let attempt = StatusCheckTry(startedAt: Timestamp(millisecondsSinceEpoch: row["started_at_ms"]), durationMilliseconds: row["duration_ms"],
                                             httpStatus: row["http_status"], error: row["error"], outcome: outcome, reason: reason,
                                             answerEventID: (row["answer_event_id"] as String?).flatMap(EventID.init))
                return RecentStatusCheckTry(provider: row["provider"], orderID: row["order_id"], attempt: attempt)
            }
        }
    }
}
