import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

/// `ConsoleLog` on PostgreSQL: the same read-only queries as SQLite's, over
/// the copied envelope columns of `events`, `attempts` and the status-check
/// tables.
extension PostgresEventLog {
    public func searchEvents(_ search: EventSearch) async throws -> [Event] {
        guard search.limit > 0 else { return [] }
        var conditions = PostgresConditions()
        if let provider = search.provider { conditions.add("provider = ", provider.postgresText) }
        if let type = search.type { conditions.add("type = ", type.rawValue) }
        if let channel = search.channel { conditions.add("channel = ", channel.rawValue) }
        if let verified = search.verified { conditions.add("verified = ", verified) }
        if let orderID = search.orderID { conditions.add("order_id = ", orderID.postgresText) }
        if let since = search.since { conditions.add("received_at_ms >= ", since.millisecondsSinceEpoch) }
        if let until = search.until { conditions.add("received_at_ms <= ", until.millisecondsSinceEpoch) }
        if let before = search.before { conditions.add("id < ", before.rawValue) }
        if let after = search.after { conditions.add("id > ", after.rawValue) }
        let sql = "SELECT id, envelope FROM events \(conditions.whereClause) ORDER BY id DESC LIMIT \(conditions.bind(Int64(search.limit)))"
        return try await database("search events") {
            try await client.rows(PostgresQuery(unsafeSQL: sql, binds: conditions.binds), logger: logger, Self.decodeEventRow)
        }
    }

    public func activity(since: Timestamp, until: Timestamp, bucketMilliseconds step: Int64) async throws -> [ActivityBucket] {
        var buckets = ActivityBucket.empty(since: since, until: until, step: step)
        guard !buckets.isEmpty else { return [] }
        let from = since.millisecondsSinceEpoch
        let to = until.millisecondsSinceEpoch
        return try await database("read activity") {
            let events = try await client.rows("""
                SELECT (received_at_ms - \(from)) / \(step) AS bucket, count(*)::bigint
                FROM events WHERE received_at_ms >= \(from) AND received_at_ms < \(to) GROUP BY bucket
                """, logger: logger) { try $0.decode((Int64, Int64).self) }
            for (index, count) in events where index >= 0 && index < buckets.count {
                buckets[Int(index)].events = Int(count)
            }
            let attempts = try await client.rows("""
                SELECT (started_at_ms - \(from)) / \(step) AS bucket, count(*)::bigint,
                       sum(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END)::bigint,
                       sum(duration_ms)::bigint, max(duration_ms)::bigint
                FROM attempts WHERE started_at_ms >= \(from) AND started_at_ms < \(to) GROUP BY bucket
                """, logger: logger) { try $0.decode((Int64, Int64, Int64, Int64, Int64).self) }
            for (index, count, succeeded, total, longest) in attempts where index >= 0 && index < buckets.count {
                buckets[Int(index)].attempts = Int(count)
                buckets[Int(index)].succeeded = Int(succeeded)
                buckets[Int(index)].totalDurationMilliseconds = total
                buckets[Int(index)].maxDurationMilliseconds = longest
            }
            return buckets
        }
    }

    public func recentStatusCheckTries(limit: Int) async throws -> [RecentStatusCheckTry] {
        guard limit > 0 else { return [] }
        return try await database("read recent status-check tries") {
            try await client.rows("""
                SELECT t.id, c.provider, c.order_id, t.started_at_ms, t.duration_ms, t.http_status, t.error, t.outcome, t.reason, t.answer_event_id
                FROM status_check_tries t JOIN status_checks c ON c.id = t.check_id
                ORDER BY t.id DESC LIMIT \(Int64(limit))
                """, logger: logger) { row -> RecentStatusCheckTry in
                let (id, provider, orderID, startedAt, duration, status, error, outcomeText, reasonText, answer) =
                    try row.decode((Int64, String, String, Int64, Int64, Int?, String?, String, String, String?).self)
                guard let outcome = StatusCheckOutcome(rawValue: outcomeText), let reason = StatusCheckReason(rawValue: reasonText) else {
                    throw PostgresEventLogError.corruptRow(table: "status_check_tries", key: String(id), reason: "bad outcome or reason")
                }
                let attempt = StatusCheckTry(startedAt: Timestamp(millisecondsSinceEpoch: startedAt), durationMilliseconds: duration, httpStatus: status,
                                             error: error, outcome: outcome, reason: reason, answerEventID: answer.flatMap(EventID.init))
                return RecentStatusCheckTry(provider: provider, orderID: orderID, attempt: attempt)
            }
        }
    }
}
