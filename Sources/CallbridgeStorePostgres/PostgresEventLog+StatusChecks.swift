import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// `StatusCheckLog` on PostgreSQL: the same rules as the SQLite log
/// (`SQLiteEventLog+StatusChecks.swift`): the transitions are `StatusCheck`'s
/// and a completion's writes are `StatusCheckCompletionPlan`'s. What differs
/// is that several processes write at once, so a job's row is only changed
/// under its row lock (`PostgresStatusChecks`).
extension PostgresEventLog {
    public func leaseStatusChecks(provider: String, limit: Int, owner: String, leaseFor: Int64, now: Timestamp) async throws -> [LeasedStatusCheck] {
        guard limit > 0 else { return [] }
        let nowMS = now.millisecondsSinceEpoch
        let until = now.adding(milliseconds: leaseFor)
        let storedProvider = provider.postgresText
        return try await database("lease status checks") {
            try await client.withTransaction(logger: logger) { [logger] connection -> [LeasedStatusCheck] in
                // Expired leases first (their process went away mid-try), then due jobs, each index-ordered.
                // A row another transaction holds (an append joining it, a completion) is passed over.
                var rows = try await connection.all("""
                    SELECT id, status_check FROM status_checks
                    WHERE provider = \(storedProvider) AND state = 'leased' AND lease_expires_ms <= \(nowMS)
                    ORDER BY lease_expires_ms LIMIT \(Int64(limit))
                    FOR UPDATE SKIP LOCKED
                    """, logger: logger) { try $0.decode((Int64, String).self) }
                if rows.count < limit {
                    rows += try await connection.all("""
                        SELECT id, status_check FROM status_checks
                        WHERE provider = \(storedProvider) AND state = 'waiting' AND due_at_ms <= \(nowMS)
                        ORDER BY due_at_ms LIMIT \(Int64(limit - rows.count))
                        FOR UPDATE SKIP LOCKED
                        """, logger: logger) { try $0.decode((Int64, String).self) }
                }
                guard !rows.isEmpty else { return [] }
                var leased: [PostgresStatusChecks.LockedCheck] = []
                var abandoned: [(checkID: Int64, attempt: StatusCheckTry)] = []
                for (rowID, document) in rows {
                    var check = try PostgresStatusChecks.decodeCheck(id: rowID, document: document)
                    if check.state == .leased { abandoned.append((rowID, StatusCheckTry.abandoned(check, now: now))) }
                    check.lease(owner: owner, until: until)
                    leased.append(PostgresStatusChecks.LockedCheck(rowID: rowID, check: check))
                }
                try await PostgresStatusChecks.insertTries(abandoned, on: connection, logger: logger)
                try await PostgresStatusChecks.save(leased, now: nowMS, on: connection, logger: logger)
                let waiting = try await PostgresStatusChecks.waitingHints(checkIDs: leased.map(\.rowID), on: connection, logger: logger)
                return leased.map { LeasedStatusCheck(check: $0.check, waitingHints: waiting[$0.rowID] ?? 0) }
            }
        }
    }

    /// Locks the order rows first when an answer is to be stored (the order
    /// ingest takes them in), then the job's row, and checks the lease under
    /// that lock. A lease taken over rolls the transaction back (an order row
    /// the lock created for the answer is not left behind) and returns nil.
    public func completeStatusCheck(_ lease: LeasedStatusCheck, result: StatusCheckResult, policy: StatusCheckPolicy,
                                    now: Timestamp) async throws -> StatusCheckCompletion? {
        let nowMS = now.millisecondsSinceEpoch
        let key = PostgresOrderKey(provider: lease.provider, orderID: lease.orderID)
        return try await database("complete a status check") {
            do {
                return try await client.withTransaction(logger: logger) { [logger] connection -> StatusCheckCompletion? in
                    var answer: IngestRecord?
                    if case .answered(let record, _) = result {
                        var stored = record
                        stored.statusCheck = nil
                        answer = stored
                        var names: [(provider: String, orderID: String)] = [(lease.provider, lease.orderID)]
                        if let orderID = stored.event.data.orderID, !orderID.isEmpty { names.append((stored.event.data.provider, orderID)) }
                        _ = try await PostgresOrderLedger.lock(names, now: nowMS, on: connection, logger: logger)
                    }
                    guard let locked = try await PostgresStatusChecks.lock([key], on: connection, logger: logger)[key],
                          locked.check.holdsLease(of: lease.check) else { throw StaleStatusCheckLease() }
                    var plan = StatusCheckCompletionPlan(check: locked.check, result: result, policy: policy, now: now)
                    if let answer {
                        let appended = try await PostgresAppendBatch.insert([answer], now: nowMS, on: connection, logger: logger)
                        guard let outcome = appended.first else { throw PostgresEventLogError.database("storing the answer gave no outcome") }
                        let entry = try await PostgresStatusChecks.entry(of: key, on: connection, logger: logger)
                        plan.answerStored(outcome, entry: entry)
                    }
                    let hints = plan.settlesHints
                        ? try await PostgresStatusChecks.settleHints(checkID: locked.rowID, on: connection, logger: logger, plan.verdict) : []
                    if let attempt = plan.attempt {
                        try await PostgresStatusChecks.insertTries([(locked.rowID, attempt)], on: connection, logger: logger)
                    }
                    try await PostgresStatusChecks.save([PostgresStatusChecks.LockedCheck(rowID: locked.rowID, check: plan.check)], now: nowMS,
                                                        on: connection, logger: logger)
                    return plan.completion(hints: hints)
                }
            } catch let error as PostgresTransactionError where error.closureError is StaleStatusCheckLease {
                return nil
            }
        }
    }

    public func requestStatusCheck(provider: String, orderID: String, transactionID: String?, now: Timestamp) async throws -> StatusCheck {
        let nowMS = now.millisecondsSinceEpoch
        let key = PostgresOrderKey(provider: provider, orderID: orderID)
        func asked(_ existing: StatusCheck?) -> StatusCheck {
            var check = existing ?? StatusCheck(provider: provider, orderID: orderID, createdAt: now)
            if let transactionID, !transactionID.isEmpty { check.transactionID = transactionID }
            check.askedByOperator(now: now)
            return check
        }
        return try await database("request a status check") {
            try await client.withTransaction(logger: logger) { [logger] connection -> StatusCheck in
                if let locked = try await PostgresStatusChecks.lock([key], on: connection, logger: logger)[key] {
                    let check = asked(locked.check)
                    try await PostgresStatusChecks.save([.init(rowID: locked.rowID, check: check)], now: nowMS, on: connection, logger: logger)
                    return check
                }
                let check = asked(nil)
                if !(try await PostgresStatusChecks.insert([check], now: nowMS, on: connection, logger: logger)).isEmpty { return check }
                // Another process created the job since the lookup: ask on its row.
                guard let locked = try await PostgresStatusChecks.lock([key], on: connection, logger: logger)[key] else {
                    throw PostgresEventLogError.database("the status check of \(orderID) was neither inserted nor found")
                }
                let again = asked(locked.check)
                try await PostgresStatusChecks.save([.init(rowID: locked.rowID, check: again)], now: nowMS, on: connection, logger: logger)
                return again
            }
        }
    }

    /// Read in one snapshot (`REPEATABLE READ`), as SQLite's read transaction is.
    public func statusCheck(provider: String, orderID: String, tries limit: Int) async throws -> StatusCheckDetail? {
        try await database("read a status check") {
            try await client.withTransaction(logger: logger) { [logger] connection -> StatusCheckDetail? in
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                guard let (rowID, document) = try await connection.all("""
                    SELECT id, status_check FROM status_checks WHERE provider = \(provider.postgresText) AND order_id = \(orderID.postgresText)
                    """, logger: logger, { try $0.decode((Int64, String).self) }).first else { return nil }
                let check = try PostgresStatusChecks.decodeCheck(id: rowID, document: document)
                let tries = try await connection.all("""
                    SELECT id, started_at_ms, duration_ms, http_status, error, outcome, reason, answer_event_id
                    FROM status_check_tries WHERE check_id = \(rowID) ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
                    """, logger: logger) { row -> StatusCheckTry in
                    let (id, startedAt, duration, status, error, outcomeText, reasonText, answer) =
                        try row.decode((Int64, Int64, Int64, Int?, String?, String, String, String?).self)
                    guard let outcome = StatusCheckOutcome(rawValue: outcomeText), let reason = StatusCheckReason(rawValue: reasonText) else {
                        throw PostgresEventLogError.corruptRow(table: "status_check_tries", key: String(id), reason: "bad outcome or reason")
                    }
                    return StatusCheckTry(startedAt: Timestamp(millisecondsSinceEpoch: startedAt), durationMilliseconds: duration, httpStatus: status,
                                          error: error, outcome: outcome, reason: reason, answerEventID: answer.flatMap(EventID.init))
                }
                let hints = try await PostgresStatusChecks.fetchHints(checkID: rowID, waitingOnly: false, on: connection, logger: logger)
                return StatusCheckDetail(check: check, tries: tries, hints: hints)
            }
        }
    }

    public func statusCheckQueue() async throws -> [String: StatusCheckQueueDepth] {
        try await database("read the status-check queue") {
            var depth: [String: StatusCheckQueueDepth] = [:]
            let rows = try await client.rows("""
                SELECT provider, state, count(*), min(due_at_ms) FROM status_checks WHERE state IN ('waiting', 'leased') GROUP BY provider, state
                """, logger: logger) { try $0.decode((String, String, Int, Int64?).self) }
            for (provider, state, count, oldest) in rows {
                var d = depth[provider] ?? StatusCheckQueueDepth(waiting: 0, leased: 0, oldestDue: nil)
                if state == StatusCheck.State.waiting.rawValue {
                    d.waiting = count
                    d.oldestDue = oldest.map(Timestamp.init(millisecondsSinceEpoch:))
                } else {
                    d.leased = count
                }
                depth[provider] = d
            }
            return depth
        }
    }

    public func nextStatusCheckDue() async throws -> Timestamp? {
        try await database("find the next due status check") {
            // LEAST ignores NULLs: nil only when neither kind of job exists.
            let due = try await client.rows("""
                SELECT least((SELECT min(due_at_ms) FROM status_checks WHERE state = 'waiting'),
                             (SELECT min(lease_expires_ms) FROM status_checks WHERE state = 'leased'))
                """, logger: logger) { try $0.decode(Int64?.self) }.first ?? nil
            return due.map(Timestamp.init(millisecondsSinceEpoch:))
        }
    }
}

/// Thrown inside a completion's transaction to roll it back: the lease was
/// taken over (expired and leased again) before the try finished.
private struct StaleStatusCheckLease: Error {}

/// The status-check rows inside PostgreSQL write transactions: locking job
/// rows, applying what ingest asks (`schedule`), recording tries and hints.
///
/// Invariants:
/// - a job's row is read for a change only under its row lock (`lock`,
///   `SELECT … FOR UPDATE`) or as the row the transaction inserts, and is
///   written back in the same transaction, so two processes never lose each
///   other's transition;
/// - one row per (provider, order id) (`status_checks_key`): a job is
///   created with `INSERT … ON CONFLICT DO NOTHING`, and when another process
///   created it meanwhile, its row is locked and the change applied to it;
/// - lock order: a transaction that locks order rows as well (an append, a
///   completion storing its answer) takes them first, then the job rows,
///   several in one statement in (provider, order id) order; leasing passes
///   rows held by others (`SKIP LOCKED`) and so waits for none;
/// - a hint is inserted or given its verdict only by a transaction holding
///   its job's row, so a completion settles every hint linked before it.
enum PostgresStatusChecks {
    /// A job row locked (or inserted) by the current transaction, with the job as read or changed since.
    struct LockedCheck: Sendable {
        var rowID: Int64
        var check: StatusCheck
    }

    /// One event an append stored whose record asks for status checks, as placed.
    struct ScheduledEvent: Sendable {
        var event: Event
        var slot: PostgresOrderSlot?
        var request: StatusCheckRequest
    }

    /// The job a `status_check` column holds.
    static func decodeCheck(id: Int64, document: String) throws -> StatusCheck {
        do {
            return try StatusCheck(json: try JSONParser().parse(document))
        } catch {
            throw PostgresEventLogError.corruptRow(table: "status_checks", key: String(id), reason: "\(error)")
        }
    }

    /// Locks the existing job rows of `keys`, in (provider, order id) order,
    /// and returns them by key (a key without a job has none).
    static func lock(_ keys: some Collection<PostgresOrderKey>, on connection: PostgresConnection,
                     logger: Logger) async throws -> [PostgresOrderKey: LockedCheck] {
        guard !keys.isEmpty else { return [:] }
        var locked: [PostgresOrderKey: LockedCheck] = [:]
        for (rowID, provider, orderID, document) in try await connection.rows(LockChecks(keys), logger: logger) {
            locked[PostgresOrderKey(provider: provider, orderID: orderID)] = LockedCheck(rowID: rowID, check: try decodeCheck(id: rowID, document: document))
        }
        return locked
    }

    /// Called by the append batch after its events are stored and placed
    /// (their order rows locked): joins, starts or schedules each order's job
    /// (`StatusCheck.afterEvent`, the events of one order in record order)
    /// and links the hints, the same as the SQLite log's `insert`.
    static func schedule(after events: [ScheduledEvent], now: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        var byOrder: [PostgresOrderKey: [ScheduledEvent]] = [:]
        for scheduled in events {
            guard let key = PostgresOrderKey(scheduled.event) else { continue }
            byOrder[key, default: []].append(scheduled)
        }
        guard !byOrder.isEmpty else { return }
        let time = Timestamp(millisecondsSinceEpoch: now)
        /// The job after `key`'s events, and the hints they link; nil when they change nothing.
        func apply(_ key: PostgresOrderKey, to existing: StatusCheck?) -> (check: StatusCheck, hints: [StatusCheckHint])? {
            var current = existing
            var hints: [StatusCheckHint] = []
            var changed = false
            for scheduled in byOrder[key] ?? [] {
                guard let (check, linksHint) = StatusCheck.afterEvent(scheduled.event, placement: scheduled.slot?.placement, entry: scheduled.slot?.entry,
                                                                      existing: current, request: scheduled.request, now: time) else { continue }
                current = check
                changed = true
                if linksHint { hints.append(StatusCheckHint(scheduled.event)) }
            }
            guard changed, let current else { return nil }
            return (current, hints)
        }

        let locked = try await lock(byOrder.keys, on: connection, logger: logger)
        var changed: [LockedCheck] = []
        var links = InsertHints()
        var created: [PostgresOrderKey: (check: StatusCheck, hints: [StatusCheckHint])] = [:]
        for key in byOrder.keys {
            if let row = locked[key] {
                guard let (check, hints) = apply(key, to: row.check) else { continue }
                changed.append(LockedCheck(rowID: row.rowID, check: check))
                for hint in hints { links.append(hint, checkID: row.rowID) }
            } else if let job = apply(key, to: nil) {
                created[key] = job
            }
        }
        if !created.isEmpty {
            for (rowID, provider, orderID) in try await insert(created.values.map(\.check), now: now, on: connection, logger: logger) {
                guard let job = created.removeValue(forKey: PostgresOrderKey(provider: provider, orderID: orderID)) else { continue }
                for hint in job.hints { links.append(hint, checkID: rowID) }
            }
            // Jobs another process created since the lock (an operator's request): the events apply to its row.
            let raced = try await lock(created.keys, on: connection, logger: logger)
            for key in created.keys {
                guard let row = raced[key] else {
                    throw PostgresEventLogError.database("the status check of \(key.orderID) was neither inserted nor found")
                }
                guard let (check, hints) = apply(key, to: row.check) else { continue }
                changed.append(LockedCheck(rowID: row.rowID, check: check))
                for hint in hints { links.append(hint, checkID: row.rowID) }
            }
        }
        try await save(changed, now: now, on: connection, logger: logger)
        if !links.eventIDs.isEmpty { _ = try await connection.rows(links, logger: logger) }
    }

    /// Inserts new jobs, skipping any whose (provider, order id) has a row
    /// already (`ON CONFLICT DO NOTHING`, waiting for a transaction inserting
    /// it to end); returns the id and key of each row inserted.
    static func insert(_ checks: [StatusCheck], now: Int64, on connection: PostgresConnection,
                       logger: Logger) async throws -> [(rowID: Int64, provider: String, orderID: String)] {
        guard !checks.isEmpty else { return [] }
        return try await connection.rows(InsertChecks(checks, now: now), logger: logger).map { (rowID: $0.0, provider: $0.1, orderID: $0.2) }
    }

    /// Writes jobs back to their (locked) rows, in one statement.
    static func save(_ checks: [LockedCheck], now: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        guard !checks.isEmpty else { return }
        _ = try await connection.rows(SaveChecks(checks, now: now), logger: logger)
    }

    static func insertTries(_ tries: [(checkID: Int64, attempt: StatusCheckTry)], on connection: PostgresConnection, logger: Logger) async throws {
        guard !tries.isEmpty else { return }
        _ = try await connection.rows(InsertTries(tries), logger: logger)
    }

    /// How many hints wait for an answer, per job (jobs with none are left out).
    static func waitingHints(checkIDs: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int64: Int] {
        guard !checkIDs.isEmpty else { return [:] }
        let rows = try await connection.all("""
            SELECT check_id, count(*) FROM status_check_hints WHERE check_id = ANY(\(checkIDs)::int8[]) AND verdict IS NULL GROUP BY check_id
            """, logger: logger) { try $0.decode((Int64, Int).self) }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    /// The hints of job `checkID` (only those without a verdict when
    /// `waitingOnly`), oldest first.
    static func fetchHints(checkID: Int64, waitingOnly: Bool, on connection: PostgresConnection, logger: Logger) async throws -> [StatusCheckHint] {
        let waiting = waitingOnly ? " AND verdict IS NULL" : ""
        var binds = PostgresBindings()
        binds.append(checkID)
        let sql = """
            SELECT event_id, type, amount, currency, received_at_ms, answered_by, verdict, verdict_detail FROM status_check_hints
            WHERE check_id = $1\(waiting) ORDER BY received_at_ms, event_id
            """
        return try await connection.all(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) { row in
            let (id, typeText, amount, currency, receivedAt, answeredBy, label, detail) =
                try row.decode((String, String, String?, String?, Int64, String?, String?, String?).self)
            guard let eventID = EventID(id), let type = EventType(rawValue: typeText) else {
                throw PostgresEventLogError.corruptRow(table: "status_check_hints", key: id, reason: "bad event id or type")
            }
            var hint = StatusCheckHint(eventID: eventID, type: type, amount: amount.flatMap(DecimalAmount.init), currency: currency.flatMap(CurrencyCode.init),
                                       receivedAt: Timestamp(millisecondsSinceEpoch: receivedAt))
            hint.answeredBy = answeredBy.flatMap(EventID.init)
            if let label { hint.verdict = StatusCheckVerdict(label: label, detail: detail) }
            return hint
        }
    }

    /// Gives every hint still waiting on job `checkID` its verdict, in one statement.
    static func settleHints(checkID: Int64, on connection: PostgresConnection, logger: Logger,
                            _ verdict: (StatusCheckHint) -> (StatusCheckVerdict, EventID?)) async throws -> [StatusCheckHint] {
        var settled: [StatusCheckHint] = []
        var eventIDs: [String] = []
        var answeredBy = NullableColumn<String>(placeholder: "")
        var labels: [String] = []
        var details = NullableColumn<String>(placeholder: "")
        for var hint in try await fetchHints(checkID: checkID, waitingOnly: true, on: connection, logger: logger) {
            let (given, answer) = verdict(hint)
            hint.verdict = given
            hint.answeredBy = answer
            eventIDs.append(hint.eventID.rawValue)
            answeredBy.append(answer?.rawValue)
            labels.append(given.label)
            details.append(given.detail?.postgresText)
            settled.append(hint)
        }
        guard !settled.isEmpty else { return [] }
        try await connection.query("""
            UPDATE status_check_hints h
            SET answered_by = CASE WHEN u.answered_null THEN NULL ELSE u.answered_by END, verdict = u.verdict,
                verdict_detail = CASE WHEN u.detail_null THEN NULL ELSE u.detail END
            FROM unnest(\(eventIDs)::text[], \(answeredBy.values)::text[], \(answeredBy.isNull)::bool[], \(labels)::text[],
                        \(details.values)::text[], \(details.isNull)::bool[])
                 AS u(event_id, answered_by, answered_null, verdict, detail, detail_null)
            WHERE h.event_id = u.event_id
            """, logger: logger)
        return settled
    }

    /// The entry of order `key` as the current transaction sees it (nil when it has no row).
    static func entry(of key: PostgresOrderKey, on connection: PostgresConnection, logger: Logger) async throws -> OrderLedgerEntry? {
        try await connection.all("""
            SELECT id, ledger FROM orders WHERE provider = \(key.provider) AND order_id = \(key.orderID)
            """, logger: logger) { row in
            let (id, ledger) = try row.decode((Int64, String).self)
            return try PostgresOrderLedger.decodeEntry(id: id, ledger: ledger)
        }.first
    }
}

extension PostgresConnection {
    /// All rows of a query, decoded by `decode`.
    fileprivate func all<Row>(_ query: PostgresQuery, logger: Logger, _ decode: (PostgresRow) throws -> Row) async throws -> [Row] {
        var rows: [Row] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(try decode(row)) }
        return rows
    }
}

/// The copies of a job's fields its row keeps beside the JSON, for leasing.
private struct CheckColumns: Sendable {
    var states: [String] = []
    var dueAt = NullableColumn<Int64>(placeholder: 0)
    var leaseExpiresAt = NullableColumn<Int64>(placeholder: 0)
    var documents: [String] = []

    mutating func append(_ check: StatusCheck) {
        states.append(check.state.rawValue)
        dueAt.append(check.dueAt?.millisecondsSinceEpoch)
        leaseExpiresAt.append(check.leaseExpiresAt?.millisecondsSinceEpoch)
        documents.append(check.json.rendered().postgresText)
    }

    /// Binds the five arrays the statements read as `state, due_at_ms, due_null, lease_expires_ms, lease_null, status_check`.
    func bind(_ b: inout PostgresBindings) {
        b.append(states); b.append(dueAt.values); b.append(dueAt.isNull); b.append(leaseExpiresAt.values); b.append(leaseExpiresAt.isNull)
        b.append(documents)
    }
}

/// Locks the existing job rows of a set of orders, in (provider, order id)
/// order, and returns each row's id, key and job.
private struct LockChecks: PostgresPreparedStatement {
    static let sql = """
        SELECT s.id, s.provider, s.order_id, s.status_check FROM status_checks s
        WHERE (s.provider, s.order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY s.provider, s.order_id
        FOR UPDATE OF s
        """
    typealias Row = (Int64, String, String, String)
    var providers: [String] = []
    var orderIDs: [String] = []

    init(_ keys: some Collection<PostgresOrderKey>) {
        for key in keys {
            providers.append(key.provider)
            orderIDs.append(key.orderID)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(providers); b.append(orderIDs)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String, String, String).self) }
}

/// New job rows, in (provider, order id) order; one that exists already is
/// skipped. Returns the id and key of each row inserted.
private struct InsertChecks: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO status_checks (provider, order_id, state, due_at_ms, lease_expires_ms, status_check, updated_at_ms)
        SELECT provider, order_id, state, CASE WHEN due_null THEN NULL ELSE due_at_ms END,
               CASE WHEN lease_null THEN NULL ELSE lease_expires_ms END, status_check, $9
        FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::bool[], $6::int8[], $7::bool[], $8::text[])
             AS c(provider, order_id, state, due_at_ms, due_null, lease_expires_ms, lease_null, status_check)
        ORDER BY provider, order_id
        ON CONFLICT ON CONSTRAINT status_checks_key DO NOTHING
        RETURNING id, provider, order_id
        """
    typealias Row = (Int64, String, String)
    var providers: [String] = []
    var orderIDs: [String] = []
    var columns = CheckColumns()
    let now: Int64

    init(_ checks: [StatusCheck], now: Int64) {
        self.now = now
        for check in checks {
            providers.append(check.provider.postgresText)
            orderIDs.append(check.orderID.postgresText)
            columns.append(check)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 9)
        b.append(providers); b.append(orderIDs)
        columns.bind(&b)
        b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String, String).self) }
}

/// Writes jobs back to their rows: the JSON and the copies of its fields.
private struct SaveChecks: PostgresPreparedStatement {
    static let sql = """
        UPDATE status_checks s
        SET state = u.state, due_at_ms = CASE WHEN u.due_null THEN NULL ELSE u.due_at_ms END,
            lease_expires_ms = CASE WHEN u.lease_null THEN NULL ELSE u.lease_expires_ms END, status_check = u.status_check, updated_at_ms = $8
        FROM unnest($1::int8[], $2::text[], $3::int8[], $4::bool[], $5::int8[], $6::bool[], $7::text[])
             AS u(id, state, due_at_ms, due_null, lease_expires_ms, lease_null, status_check)
        WHERE s.id = u.id
        """
    typealias Row = Void
    var ids: [Int64] = []
    var columns = CheckColumns()
    let now: Int64

    init(_ checks: [PostgresStatusChecks.LockedCheck], now: Int64) {
        self.now = now
        for locked in checks {
            ids.append(locked.rowID)
            columns.append(locked.check)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 8)
        b.append(ids)
        columns.bind(&b)
        b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Recorded tries, in the order given.
private struct InsertTries: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO status_check_tries (check_id, started_at_ms, duration_ms, http_status, outcome, reason, error, answer_event_id)
        SELECT check_id, started_at_ms, duration_ms, CASE WHEN status_null THEN NULL ELSE http_status END, outcome, reason,
               CASE WHEN error_null THEN NULL ELSE error END, CASE WHEN answer_null THEN NULL ELSE answer_event_id END
        FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::bool[], $6::text[], $7::text[], $8::text[], $9::bool[],
                    $10::text[], $11::bool[]) WITH ORDINALITY
             AS t(check_id, started_at_ms, duration_ms, http_status, status_null, outcome, reason, error, error_null, answer_event_id,
                  answer_null, n)
        ORDER BY n
        """
    typealias Row = Void
    var checkIDs: [Int64] = []
    var startedAt: [Int64] = []
    var durations: [Int64] = []
    var statuses = NullableColumn<Int64>(placeholder: 0)
    var outcomes: [String] = []
    var reasons: [String] = []
    var errors = NullableColumn<String>(placeholder: "")
    var answers = NullableColumn<String>(placeholder: "")

    init(_ tries: [(checkID: Int64, attempt: StatusCheckTry)]) {
        for (checkID, attempt) in tries {
            checkIDs.append(checkID)
            startedAt.append(attempt.startedAt.millisecondsSinceEpoch)
            durations.append(attempt.durationMilliseconds)
            statuses.append(attempt.httpStatus.map(Int64.init))
            outcomes.append(attempt.outcome.rawValue)
            reasons.append(attempt.reason.rawValue)
            errors.append(attempt.error?.postgresText)
            answers.append(attempt.answerEventID?.rawValue)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 11)
        b.append(checkIDs); b.append(startedAt); b.append(durations); b.append(statuses.values); b.append(statuses.isNull)
        b.append(outcomes); b.append(reasons); b.append(errors.values); b.append(errors.isNull); b.append(answers.values); b.append(answers.isNull)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Hints linked to their jobs, waiting for a verdict.
private struct InsertHints: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO status_check_hints (event_id, check_id, type, amount, currency, received_at_ms)
        SELECT event_id, check_id, type, CASE WHEN amount_null THEN NULL ELSE amount END, CASE WHEN currency_null THEN NULL ELSE currency END,
               received_at_ms
        FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::bool[], $8::int8[])
             AS h(event_id, check_id, type, amount, amount_null, currency, currency_null, received_at_ms)
        """
    typealias Row = Void
    private(set) var eventIDs: [String] = []
    private var checkIDs: [Int64] = []
    private var types: [String] = []
    private var amounts = NullableColumn<String>(placeholder: "")
    private var currencies = NullableColumn<String>(placeholder: "")
    private var receivedAt: [Int64] = []

    mutating func append(_ hint: StatusCheckHint, checkID: Int64) {
        eventIDs.append(hint.eventID.rawValue)
        checkIDs.append(checkID)
        types.append(hint.type.rawValue)
        amounts.append(hint.amount?.text.postgresText)
        currencies.append(hint.currency?.code.postgresText)
        receivedAt.append(hint.receivedAt.millisecondsSinceEpoch)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 8)
        b.append(eventIDs); b.append(checkIDs); b.append(types); b.append(amounts.values); b.append(amounts.isNull)
        b.append(currencies.values); b.append(currencies.isNull); b.append(receivedAt)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws {}
}
