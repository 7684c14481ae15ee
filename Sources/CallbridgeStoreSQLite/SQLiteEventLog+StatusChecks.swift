import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// Status checks on SQLite: the job rows, their tries and hints. SQLite has
/// one writer, so reading a job and writing it back in one transaction is
/// already serialized.
extension SQLiteEventLog {
    // MARK: Rows

    static func fetchCheck(provider: String, orderID: String, in db: Database) throws -> (Int64, StatusCheck)? {
        let statement = try db.cachedStatement(sql: "SELECT id, status_check FROM status_checks WHERE provider = ? AND order_id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [provider, orderID]) else { return nil }
        return (row["id"], try decodeCheck(row))
    }

    static func decodeCheck(_ row: Row) throws -> StatusCheck {
        let id: Int64 = row["id"]
        let text: String = row["status_check"]
        do {
            return try StatusCheck(json: try JSONParser().parse(text))
        } catch {
            throw SQLiteEventLogError.corruptRow(table: "status_checks", key: String(id), reason: "\(error)")
        }
    }

    /// Writes `check` to its row, or inserts it. Returns the row id.
    @discardableResult
    static func saveCheck(_ check: StatusCheck, rowID: Int64?, now: Int64, in db: Database) throws -> Int64 {
        let columns: [(any DatabaseValueConvertible)?] = [
            check.state.rawValue, check.dueAt?.millisecondsSinceEpoch, check.leaseExpiresAt?.millisecondsSinceEpoch,
            check.json.rendered(), now,
        ]
        guard let rowID else {
            try db.cachedStatement(sql: """
                INSERT INTO status_checks (state, due_at_ms, lease_expires_ms, status_check, updated_at_ms, provider, order_id)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments(columns + [check.provider, check.orderID]))
            return db.lastInsertedRowID
        }
        try db.cachedStatement(sql: """
            UPDATE status_checks SET state = ?, due_at_ms = ?, lease_expires_ms = ?, status_check = ?, updated_at_ms = ? WHERE id = ?
            """).execute(arguments: StatementArguments(columns + [rowID]))
        return rowID
    }

    /// Called by `insert` after `event` is stored and placed: joins, starts
    /// or schedules the order's check (`StatusCheck.afterEvent`) and links
    /// the hint.
    static func scheduleStatusCheck(after event: Event, slot: OrderSlot?, request: StatusCheckRequest, now: Timestamp, in db: Database) throws {
        guard let orderID = event.data.orderID, !orderID.isEmpty else { return }
        let found = try fetchCheck(provider: event.data.provider, orderID: orderID, in: db)
        guard let (check, linksHint) = StatusCheck.afterEvent(event, placement: slot?.placement, entry: slot?.entry, existing: found?.1,
                                                              request: request, now: now) else { return }
        let rowID = try saveCheck(check, rowID: found?.0, now: now.millisecondsSinceEpoch, in: db)
        if linksHint {
            let hint = StatusCheckHint(event)
            try db.cachedStatement(sql: """
                INSERT INTO status_check_hints (event_id, check_id, type, amount, currency, received_at_ms) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [hint.eventID.rawValue, rowID, hint.type.rawValue, hint.amount?.text, hint.currency?.code,
                                         hint.receivedAt.millisecondsSinceEpoch])
        }
    }

    static func insertTry(_ attempt: StatusCheckTry, checkID: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO status_check_tries (check_id, started_at_ms, duration_ms, http_status, outcome, reason, error, answer_event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [checkID, attempt.startedAt.millisecondsSinceEpoch, attempt.durationMilliseconds, attempt.httpStatus,
                                     attempt.outcome.rawValue, attempt.reason.rawValue, attempt.error, attempt.answerEventID?.rawValue])
    }

    static func fetchHints(checkID: Int64, waitingOnly: Bool, in db: Database) throws -> [StatusCheckHint] {
        let sql = "SELECT * FROM status_check_hints WHERE check_id = ?" + (waitingOnly ? " AND verdict IS NULL" : "") + " ORDER BY received_at_ms, event_id"
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: [checkID]).map { row in
            let id: String = row["event_id"]
            let typeText: String = row["type"]
            guard let eventID = EventID(id), let type = EventType(rawValue: typeText) else {
                throw SQLiteEventLogError.corruptRow(table: "status_check_hints", key: id, reason: "bad event id or type")
            }
            var hint = StatusCheckHint(eventID: eventID, type: type, amount: (row["amount"] as String?).flatMap(DecimalAmount.init),
                                       currency: (row["currency"] as String?).flatMap(CurrencyCode.init),
                                       receivedAt: Timestamp(millisecondsSinceEpoch: row["received_at_ms"]))
            hint.answeredBy = (row["answered_by"] as String?).flatMap(EventID.init)
            if let label: String = row["verdict"] { hint.verdict = StatusCheckVerdict(label: label, detail: row["verdict_detail"]) }
            return hint
        }
    }

    /// Gives every hint still waiting on job `checkID` its verdict.
    static func settleHints(checkID: Int64, in db: Database, _ verdict: (StatusCheckHint) -> (StatusCheckVerdict, EventID?)) throws -> [StatusCheckHint] {
        var settled: [StatusCheckHint] = []
        for var hint in try fetchHints(checkID: checkID, waitingOnly: true, in: db) {
            let (v, answeredBy) = verdict(hint)
            hint.verdict = v
            hint.answeredBy = answeredBy
            try db.cachedStatement(sql: "UPDATE status_check_hints SET answered_by = ?, verdict = ?, verdict_detail = ? WHERE event_id = ?")
                .execute(arguments: [answeredBy?.rawValue, v.label, v.detail, hint.eventID.rawValue])
            settled.append(hint)
        }
        return settled
    }

    // MARK: StatusCheckLog

    public func leaseStatusChecks(provider: String, limit: Int, owner: String, leaseFor: Int64, now: Timestamp) async throws -> [LeasedStatusCheck] {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        guard limit > 0 else { return [] }
        let nowMS = now.millisecondsSinceEpoch
        let until = now.adding(milliseconds: leaseFor)
        return try await dbPool.write { db in
            // Expired leases first (their process went away mid-try), then due jobs, each index-ordered.
            var rows = try Row.fetchAll(db, sql: """
                SELECT id, status_check FROM status_checks WHERE provider = ? AND state = 'leased' AND lease_expires_ms <= ?
                ORDER BY lease_expires_ms LIMIT ?
                """, arguments: [provider, nowMS, limit])
            if rows.count < limit {
                rows += try Row.fetchAll(db, sql: """
                    SELECT id, status_check FROM status_checks WHERE provider = ? AND state = 'waiting' AND due_at_ms <= ?
                    ORDER BY due_at_ms LIMIT ?
                    """, arguments: [provider, nowMS, limit - rows.count])
            }
            var leased: [LeasedStatusCheck] = []
            for row in rows {
                let rowID: Int64 = row["id"]
                var check = try Self.decodeCheck(row)
                if check.state == .leased {
                    try Self.insertTry(StatusCheckTry.abandoned(check, now: now), checkID: rowID, in: db)
                }
                check.lease(owner: owner, until: until)
                try Self.saveCheck(check, rowID: rowID, now: nowMS, in: db)
                let waiting = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM status_check_hints WHERE check_id = ? AND verdict IS NULL"),
                                               arguments: [rowID]) ?? 0
                leased.append(LeasedStatusCheck(check: check, waitingHints: waiting))
            }
            return leased
        }
    }

    public func completeStatusCheck(_ lease: LeasedStatusCheck, result: StatusCheckResult, policy: StatusCheckPolicy,
                                    now: Timestamp) async throws -> StatusCheckCompletion? {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await dbPool.write { db in
            guard let (rowID, current) = try Self.fetchCheck(provider: lease.provider, orderID: lease.orderID, in: db),
                  current.holdsLease(of: lease.check) else { return nil }
            var plan = StatusCheckCompletionPlan(check: current, result: result, policy: policy, now: now)
            if case .answered(let record, _) = result {
                var answer = record
                answer.statusCheck = nil
                let appended = try AppendBatchWriter.insert(answer, now: now, in: db)
                let entry = try Self.fetchEntry(provider: lease.provider, orderID: lease.orderID, in: db)?.1
                plan.answerStored(appended, entry: entry)
            }
            let hints = try plan.settlesHints ? Self.settleHints(checkID: rowID, in: db, plan.verdict) : []
            if let attempt = plan.attempt { try Self.insertTry(attempt, checkID: rowID, in: db) }
            try Self.saveCheck(plan.check, rowID: rowID, now: now.millisecondsSinceEpoch, in: db)
            return plan.completion(hints: hints)
        }
    }

    public func requestStatusCheck(provider: String, orderID: String, transactionID: String?, now: Timestamp) async throws -> StatusCheck {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await dbPool.write { db in
            let found = try Self.fetchCheck(provider: provider, orderID: orderID, in: db)
            var check = found?.1 ?? StatusCheck(provider: provider, orderID: orderID, createdAt: now)
            if let transactionID, !transactionID.isEmpty { check.transactionID = transactionID }
            check.askedByOperator(now: now)
            try Self.saveCheck(check, rowID: found?.0, now: now.millisecondsSinceEpoch, in: db)
            return check
        }
    }

    public func statusCheck(provider: String, orderID: String, tries limit: Int) async throws -> StatusCheckDetail? {
        try await dbPool.read { db in
            guard let (rowID, check) = try Self.fetchCheck(provider: provider, orderID: orderID, in: db) else { return nil }
            let tries = try Row.fetchAll(db, sql: "SELECT * FROM status_check_tries WHERE check_id = ? ORDER BY id DESC LIMIT ?",
                                         arguments: [rowID, max(0, limit)]).map { row in
                let outcomeText: String = row["outcome"]
                let reasonText: String = row["reason"]
                guard let outcome = StatusCheckOutcome(rawValue: outcomeText), let reason = StatusCheckReason(rawValue: reasonText) else {
                    throw SQLiteEventLogError.corruptRow(table: "status_check_tries", key: "\(row["id"] as Int64)", reason: "bad outcome or reason")
                }
                return StatusCheckTry(startedAt: Timestamp(millisecondsSinceEpoch: row["started_at_ms"]), durationMilliseconds: row["duration_ms"],
                                      httpStatus: row["http_status"], error: row["error"], outcome: outcome, reason: reason,
                                      answerEventID: (row["answer_event_id"] as String?).flatMap(EventID.init))
            }
            return StatusCheckDetail(check: check, tries: tries, hints: try Self.fetchHints(checkID: rowID, waitingOnly: false, in: db))
        }
    }

    public func statusCheckQueue() async throws -> [String: StatusCheckQueueDepth] {
        try await dbPool.read { db in
            var depth: [String: StatusCheckQueueDepth] = [:]
            // One grouped query per state, each over its partial index.
            for row in try Row.fetchAll(db, sql: """
                SELECT provider, COUNT(*) AS n, MIN(due_at_ms) AS oldest FROM status_checks WHERE state = 'waiting' GROUP BY provider
                """) {
                let provider: String = row["provider"]
                depth[provider] = StatusCheckQueueDepth(waiting: row["n"], leased: 0,
                                                        oldestDue: (row["oldest"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
            }
            for row in try Row.fetchAll(db, sql: "SELECT provider, COUNT(*) AS n FROM status_checks WHERE state = 'leased' GROUP BY provider") {
                let provider: String = row["provider"]
                var d = depth[provider] ?? StatusCheckQueueDepth(waiting: 0, leased: 0, oldestDue: nil)
                d.leased = row["n"]
                depth[provider] = d
            }
            return depth
        }
    }

    public func nextStatusCheckDue() async throws -> Timestamp? {
        try await dbPool.read { db in
            let due = try Int64.fetchOne(db, sql: """
                SELECT MIN(t) FROM (
                    SELECT MIN(due_at_ms) AS t FROM status_checks WHERE state = 'waiting'
                    UNION ALL SELECT MIN(lease_expires_ms) FROM status_checks WHERE state = 'leased')
                """)
            return due.map(Timestamp.init(millisecondsSinceEpoch:))
        }
    }
}
