import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// Leasing and attempt recording on SQLite. Every method is one write (or
/// read) transaction; SQLite's single writer makes select-then-lease atomic.
extension SQLiteEventLog {
    public func leaseDue(owner: String, now: Timestamp, leaseDuration: ConfigDuration, capacity: [String: Int]) async throws -> [LeasedDelivery] {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        let wanted = capacity.filter { $0.value > 0 }
        guard !wanted.isEmpty else { return [] }
        let nowMS = now.millisecondsSinceEpoch
        let expiresMS = nowMS + leaseDuration.milliseconds
        return try await dbPool.write { db in
            let disabled = Set(try String.fetchAll(db, sql: "SELECT name FROM endpoint_states WHERE disabled = 1"))
            var leased: [LeasedDelivery] = []
            for (endpoint, limit) in wanted.sorted(by: { $0.key < $1.key }) where !disabled.contains(endpoint) {
                // Two index-ordered queries rather than one with OR: the OR form
                // sorts every due row on each lease (O(backlog)); these stop at
                // the limit. Expired leases first: they are the oldest work.
                var rows = try Row.fetchAll(db, sql: """
                    SELECT d.id, d.event_id, d.attempt_count, e.envelope
                    FROM deliveries d JOIN events e ON e.id = d.event_id
                    WHERE d.state = 'in_flight' AND d.lease_expires_at_ms <= ? AND d.endpoint = ?
                    ORDER BY d.lease_expires_at_ms
                    LIMIT ?
                    """, arguments: [nowMS, endpoint, limit])
                if rows.count < limit {
                    rows += try Row.fetchAll(db, sql: """
                        SELECT d.id, d.event_id, d.attempt_count, e.envelope
                        FROM deliveries d JOIN events e ON e.id = d.event_id
                        WHERE d.endpoint = ? AND d.state = 'pending' AND d.next_attempt_at_ms <= ?
                        ORDER BY d.next_attempt_at_ms, d.id
                        LIMIT ?
                        """, arguments: [endpoint, nowMS, limit - rows.count])
                }
                for row in rows {
                    let id: Int64 = row["id"]
                    let eventText: String = row["event_id"]
                    guard let eventID = EventID(eventText) else {
                        throw SQLiteEventLogError.corruptRow(table: "deliveries", key: String(id), reason: "bad event id")
                    }
                    try db.cachedStatement(sql: """
                        UPDATE deliveries SET state = 'in_flight', lease_owner = ?, lease_expires_at_ms = ?, updated_at_ms = ?
                        WHERE id = ?
                        """).execute(arguments: [owner, expiresMS, nowMS, id])
                    let envelope: Data = row["envelope"]
                    leased.append(LeasedDelivery(
                        id: id, eventID: eventID, endpoint: endpoint, attemptCount: row["attempt_count"], owner: owner,
                        leaseExpiresAt: Timestamp(millisecondsSinceEpoch: expiresMS), envelope: [UInt8](envelope)
                    ))
                }
            }
            return leased
        }
    }

    /// Goes through a group-commit queue: attempts finishing together share
    /// one transaction (one fsync), as concurrent ingests do.
    @discardableResult
    public func complete(_ lease: LeasedDelivery, attempt: AttemptRecord, resolution: DeliveryResolution, now: Timestamp) async throws -> Bool {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await completionQueue.submit(Completion(lease: lease, attempt: attempt, resolution: resolution, now: now))
    }

    @discardableResult
    public func releaseLeases(owner: String, now: Timestamp) async throws -> Int {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await dbPool.write { db in
            try db.execute(sql: """
                UPDATE deliveries SET state = 'pending', next_attempt_at_ms = ?, lease_owner = NULL, lease_expires_at_ms = NULL, updated_at_ms = ?
                WHERE state = 'in_flight' AND lease_owner = ?
                """, arguments: [now.millisecondsSinceEpoch, now.millisecondsSinceEpoch, owner])
            return db.changesCount
        }
    }

    public func nextDueAt(endpoints: [String]) async throws -> Timestamp? {
        try await dbPool.read { db in
            var next: Int64?
            for endpoint in endpoints {
                // Each MIN is answered from an index in O(log n).
                let pending = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT MIN(next_attempt_at_ms) FROM deliveries WHERE endpoint = ? AND state = 'pending'
                    """), arguments: [endpoint])
                let lease = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT MIN(lease_expires_at_ms) FROM deliveries WHERE state = 'in_flight' AND endpoint = ?
                    """), arguments: [endpoint])
                for candidate in [pending, lease].compactMap({ $0 }) { next = min(next ?? candidate, candidate) }
            }
            return next.map { Timestamp(millisecondsSinceEpoch: $0) }
        }
    }

    public func setEndpoint(_ name: String, disabled: Bool, reason: String?, now: Timestamp) async throws {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        try await dbPool.write { db in
            try db.execute(sql: """
                INSERT INTO endpoint_states (name, disabled, reason, updated_at_ms) VALUES (?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET disabled = excluded.disabled, reason = excluded.reason, updated_at_ms = excluded.updated_at_ms
                """, arguments: [name, disabled, disabled ? reason : nil, now.millisecondsSinceEpoch])
        }
    }

    public func disabledEndpoints() async throws -> [String: String] {
        try await dbPool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, reason FROM endpoint_states WHERE disabled = 1") {
                result[row["name"]] = (row["reason"] as String?) ?? "disabled"
            }
            return result
        }
    }

    public func endpointStatistics(now: Timestamp) async throws -> [EndpointStatistics] {
        try await dbPool.read { db in
            var byName: [String: EndpointStatistics] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT endpoint, state, COUNT(*) AS n,
                       MIN(CASE WHEN next_attempt_at_ms <= ? THEN next_attempt_at_ms END) AS oldest_due
                FROM deliveries
                WHERE NOT (state = 'dead' AND superseded_by IS NOT NULL)  -- a replayed dead delivery is not dead any more
                GROUP BY endpoint, state
                """, arguments: [now.millisecondsSinceEpoch]) {
                let name: String = row["endpoint"]
                byName[name, default: EndpointStatistics(endpoint: name)].record(count: row["n"], state: row["state"], oldestDueMilliseconds: row["oldest_due"])
            }
            for name in byName.keys {
                if let row = try Row.fetchOne(db, sql: """
                    SELECT a.status_code, a.error, a.started_at_ms FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                    WHERE d.endpoint = ? ORDER BY a.started_at_ms DESC, a.id DESC LIMIT 1
                    """, arguments: [name]) {
                    byName[name]?.lastStatusCode = row["status_code"]
                    byName[name]?.lastError = row["error"]
                    byName[name]?.lastAttemptAt = (row["started_at_ms"] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) }
                }
            }
            return byName.values.sorted { $0.endpoint < $1.endpoint }
        }
    }

    public func attempts(forDelivery id: Int64) async throws -> [AttemptRecord] {
        try await dbPool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT number, started_at_ms, duration_ms, status_code, error, response_snippet FROM attempts
                WHERE delivery_id = ? ORDER BY number, id
                """, arguments: [id]).map { row in
                AttemptRecord(
                    number: row["number"], startedAt: Timestamp(millisecondsSinceEpoch: row["started_at_ms"]),
                    durationMilliseconds: row["duration_ms"], statusCode: row["status_code"], error: row["error"],
                    responseSnippet: (row["response_snippet"] as Data?).map { [UInt8]($0) } ?? []
                )
            }
        }
    }
}

/// One finished attempt waiting for its group commit.
struct Completion: Sendable {
    var lease: LeasedDelivery
    var attempt: AttemptRecord
    var resolution: DeliveryResolution
    var now: Timestamp

    /// Writes a batch in one transaction, each completion in its own savepoint.
    static func writeBatch(_ batch: [Completion], in pool: DatabasePool) async throws -> [Result<Bool, any Error>] {
        try await pool.write { db in
            try db.eachInSavepoint(batch) { completion in try completion.write(in: db) }
        }
    }

    /// Records the attempt; resolves the delivery if the lease is still held.
    func write(in db: Database) throws -> Bool {
        // Cached statements: prepared once per connection, not once per completion.
        try db.cachedStatement(sql: """
            INSERT INTO attempts (delivery_id, number, started_at_ms, duration_ms, status_code, error, response_snippet)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                lease.id, attempt.number, attempt.startedAt.millisecondsSinceEpoch, attempt.durationMilliseconds,
                attempt.statusCode, attempt.error, attempt.responseSnippet.isEmpty ? nil : Data(attempt.responseSnippet),
            ])
        let state: DeliveryState
        var next: Int64?
        switch resolution {
        case .succeeded: state = .succeeded
        case .dead: state = .dead
        case .retry(let at):
            state = .pending
            next = at.millisecondsSinceEpoch
        }
        try db.cachedStatement(sql: """
            UPDATE deliveries
            SET state = ?, attempt_count = attempt_count + 1, next_attempt_at_ms = ?, lease_owner = NULL,
                lease_expires_at_ms = NULL, last_status_code = ?, last_error = ?, updated_at_ms = ?
            WHERE id = ? AND state = 'in_flight' AND lease_owner = ? AND lease_expires_at_ms = ?
            """).execute(arguments: [
                state.rawValue, next, attempt.statusCode, attempt.error, now.millisecondsSinceEpoch, lease.id, lease.owner,
                lease.leaseExpiresAt.millisecondsSinceEpoch,
            ])
        let resolved = db.changesCount > 0
        if resolved && state != .pending {
            try SQLiteEventLog.releaseSuccessor(ofDelivery: lease.id, now: now.millisecondsSinceEpoch, in: db)
        }
        return resolved
    }
}
