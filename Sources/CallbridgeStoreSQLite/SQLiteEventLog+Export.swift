import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// Reading the log row by row for `callbridge log copy`. Read-only: works on
/// a log opened with `openReadOnly`.
///
/// Each call reads one snapshot (one read transaction), so a batch is
/// consistent in itself. Batches taken while another process appends are not
/// consistent with each other, which is why `log copy` asks for the servers
/// writing to the file to be stopped first, and compares counts at the end.
extension SQLiteEventLog {
    /// The events with an id strictly greater than `cursor` (all events when
    /// nil), at most `limit` of them in id order, with their raw requests,
    /// deliveries (every column), those deliveries' attempts, the events'
    /// earlier revisions. An empty batch means the end of the log. The order
    /// ledger is read apart (`exportOrders`).
    public func exportBatch(after cursor: EventID?, limit: Int) async throws -> LogCopyBatch {
        guard limit > 0 else { return LogCopyBatch() }
        return try await dbPool.read { db in
            let eventRows: [Row]
            if let cursor {
                eventRows = try Row.fetchAll(db, sql: """
                    SELECT id, type, provider, route, channel, verified, order_id, received_at_ms, dedup_key, envelope, revision
                    FROM events WHERE id > ? ORDER BY id LIMIT ?
                    """, arguments: [cursor.rawValue, limit])
            } else {
                eventRows = try Row.fetchAll(db, sql: """
                    SELECT id, type, provider, route, channel, verified, order_id, received_at_ms, dedup_key, envelope, revision
                    FROM events ORDER BY id LIMIT ?
                    """, arguments: [limit])
            }
            let events = try eventRows.map { row in
                LogCopyEvent(
                    id: try Self.eventID(row["id"], table: "events", key: row["id"]),
                    type: row["type"], provider: row["provider"], route: row["route"], channel: row["channel"],
                    verified: row["verified"], orderID: row["order_id"], receivedAtMilliseconds: row["received_at_ms"],
                    dedupKey: row["dedup_key"], envelope: Self.bytes(row["envelope"]) ?? [], revision: row["revision"])
            }
            guard let first = events.first?.id.rawValue, let last = events.last?.id.rawValue else { return LogCopyBatch() }
            // Every event with an id in [first, last] is in `events` (same
            // snapshot, id order), so the dependents are found by range.
            let range: StatementArguments = [first, last]

            let rawRequests = try Row.fetchAll(db, sql: """
                SELECT event_id, method, path, query, headers, body, remote_address, received_at_ms
                FROM raw_requests WHERE event_id >= ? AND event_id <= ? ORDER BY event_id
                """, arguments: range).map { row in
                LogCopyRawRequest(
                    eventID: try Self.eventID(row["event_id"], table: "raw_requests", key: row["event_id"]),
                    method: row["method"], path: row["path"], query: row["query"], headers: row["headers"],
                    body: Self.bytes(row["body"]) ?? [], remoteAddress: row["remote_address"], receivedAtMilliseconds: row["received_at_ms"])
            }

            let deliveries = try Row.fetchAll(db, sql: """
                SELECT id, event_id, endpoint, state, attempt_count, next_attempt_at_ms, lease_owner, lease_expires_at_ms,
                       last_status_code, last_error, created_at_ms, updated_at_ms, superseded_by, order_ref, order_seq
                FROM deliveries WHERE event_id >= ? AND event_id <= ? ORDER BY id
                """, arguments: range).map { row in
                let id: Int64 = row["id"]
                let stateText: String = row["state"]
                guard let state = DeliveryState(rawValue: stateText) else {
                    throw SQLiteEventLogError.corruptRow(table: "deliveries", key: String(id), reason: "unknown state \(stateText)")
                }
                return LogCopyDelivery(
                    id: id, eventID: try Self.eventID(row["event_id"], table: "deliveries", key: String(id)),
                    endpoint: row["endpoint"], state: state, attemptCount: row["attempt_count"],
                    nextAttemptAtMilliseconds: row["next_attempt_at_ms"], leaseOwner: row["lease_owner"],
                    leaseExpiresAtMilliseconds: row["lease_expires_at_ms"], lastStatusCode: row["last_status_code"],
                    lastError: row["last_error"], createdAtMilliseconds: row["created_at_ms"], updatedAtMilliseconds: row["updated_at_ms"],
                    supersededBy: row["superseded_by"], orderRef: row["order_ref"], orderSeq: row["order_seq"])
            }

            let attempts = try Row.fetchAll(db, sql: """
                SELECT a.id, a.delivery_id, a.number, a.started_at_ms, a.duration_ms, a.status_code, a.error, a.response_snippet
                FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                WHERE d.event_id >= ? AND d.event_id <= ? ORDER BY a.id
                """, arguments: range).map { row in
                LogCopyAttempt(
                    id: row["id"], deliveryID: row["delivery_id"], number: row["number"], startedAtMilliseconds: row["started_at_ms"],
                    durationMilliseconds: row["duration_ms"], statusCode: row["status_code"], error: row["error"],
                    responseSnippet: Self.bytes(row["response_snippet"]))
            }

            let revisions = try Row.fetchAll(db, sql: """
                SELECT event_id, revision, type, envelope, replaced_at_ms
                FROM event_revisions WHERE event_id >= ? AND event_id <= ? ORDER BY event_id, revision
                """, arguments: range).map { row in
                LogCopyEventRevision(
                    eventID: try Self.eventID(row["event_id"], table: "event_revisions", key: row["event_id"]),
                    revision: row["revision"], type: row["type"], envelope: Self.bytes(row["envelope"]) ?? [],
                    replacedAtMilliseconds: row["replaced_at_ms"])
            }

            return LogCopyBatch(events: events, rawRequests: rawRequests, deliveries: deliveries, attempts: attempts, revisions: revisions)
        }
    }

    /// The order ledger's rows with an id strictly greater than `cursor` (all
    /// when nil), at most `limit`, in id order; empty at the end. Copied on
    /// their own, since an order belongs to no single event (and outlives
    /// pruned ones).
    public func exportOrders(after cursor: Int64?, limit: Int) async throws -> [LogCopyOrder] {
        guard limit > 0 else { return [] }
        return try await dbPool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, provider, order_id, state, amount, currency, expected_amount, expected_currency, first_seen_ms, last_seen_ms,
                       last_event_id, event_count, mismatch_count, ledger, created_at_ms, updated_at_ms
                FROM orders WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [cursor ?? 0, limit]).map { row in
                LogCopyOrder(
                    id: row["id"], provider: row["provider"], orderID: row["order_id"], state: row["state"], amount: row["amount"],
                    currency: row["currency"], expectedAmount: row["expected_amount"], expectedCurrency: row["expected_currency"],
                    firstSeenMilliseconds: row["first_seen_ms"], lastSeenMilliseconds: row["last_seen_ms"], lastEventID: row["last_event_id"],
                    eventCount: row["event_count"], mismatchCount: row["mismatch_count"], ledger: row["ledger"],
                    createdAtMilliseconds: row["created_at_ms"], updatedAtMilliseconds: row["updated_at_ms"])
            }
        }
    }

    /// Every row of `endpoint_states` (disabled endpoints and endpoints
    /// enabled again), by name.
    public func exportEndpointStates() async throws -> [LogCopyEndpointState] {
        try await dbPool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, disabled, reason, updated_at_ms FROM endpoint_states ORDER BY name").map { row in
                LogCopyEndpointState(name: row["name"], disabled: row["disabled"], reason: row["reason"], updatedAtMilliseconds: row["updated_at_ms"])
            }
        }
    }

    /// How many rows each table holds, read in one snapshot.
    public func exportCounts() async throws -> LogCopyCounts {
        try await dbPool.read { db in
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
            return LogCopyCounts(
                events: try count("events"), rawRequests: try count("raw_requests"), deliveries: try count("deliveries"),
                attempts: try count("attempts"), revisions: try count("event_revisions"), orders: try count("orders"),
                endpointStates: try count("endpoint_states"))
        }
    }

    /// The ids among `ids` that this log does not hold, in the order given
    /// (used by `log copy` to refuse a target holding events of another log).
    public func absentEventIDs(_ ids: [EventID]) async throws -> [EventID] {
        guard !ids.isEmpty else { return [] }
        return try await dbPool.read { db in
            var present = Set<String>()
            // Chunks stay well below SQLite's limit on bound parameters.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(start + 500, ids.count)].map(\.rawValue)
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                present.formUnion(try String.fetchAll(db, sql: "SELECT id FROM events WHERE id IN (\(placeholders))",
                                                      arguments: StatementArguments(chunk)))
            }
            return ids.filter { !present.contains($0.rawValue) }
        }
    }

    /// A stored event id, or `corruptRow` when the text is not one.
    private static func eventID(_ text: String, table: String, key: String) throws -> EventID {
        guard let id = EventID(text) else { throw SQLiteEventLogError.corruptRow(table: table, key: key, reason: "not an event id: \(text)") }
        return id
    }

    /// The bytes of a BLOB column (nil when NULL; SQLite may hand back an
    /// empty blob as NULL, callers of NOT NULL columns use `?? []`).
    private static func bytes(_ data: Data?) -> [UInt8]? { data.map { [UInt8]($0) } }
}
