import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// Leasing and attempt recording on PostgreSQL, shared by many processes.
extension PostgresEventLog {
    public func leaseDue(owner: String, now: Timestamp, leaseDuration: ConfigDuration, capacity: [String: Int]) async throws -> [LeasedDelivery] {
        let wanted = capacity.filter { $0.value > 0 }
        guard !wanted.isEmpty else { return [] }
        return try await database("lease deliveries") {
            var leased: [LeasedDelivery] = []
            for (endpoint, limit) in wanted.sorted(by: { $0.key < $1.key }) {
                let statement = LeaseDue(endpoint: endpoint, now: now.millisecondsSinceEpoch, limit: Int64(limit), owner: owner,
                                         expiresAt: now.millisecondsSinceEpoch + leaseDuration.milliseconds)
                var batch: [LeasedDelivery] = []
                for try await (id, eventText, attempts, envelope) in try await client.execute(statement, logger: logger) {
                    guard let eventID = EventID(eventText) else {
                        throw PostgresEventLogError.corruptRow(table: "deliveries", key: String(id), reason: "bad event id")
                    }
                    batch.append(LeasedDelivery(id: id, eventID: eventID, endpoint: endpoint, attemptCount: attempts, owner: owner,
                                                leaseExpiresAt: Timestamp(millisecondsSinceEpoch: statement.expiresAt), envelope: envelope))
                }
                leased += batch.sorted { $0.id < $1.id }
            }
            return leased
        }
    }

    /// Goes through a group-commit queue: attempts finishing together share
    /// one statement.
    @discardableResult
    public func complete(_ lease: LeasedDelivery, attempt: AttemptRecord, resolution: DeliveryResolution, now: Timestamp) async throws -> Bool {
        do {
            return try await completionQueue.submit(PostgresCompletion(lease: lease, attempt: attempt, resolution: resolution, now: now))
        } catch {
            throw PostgresEventLogError.wrapping(error, "record an attempt")
        }
    }

    @discardableResult
    public func releaseLeases(owner: String, now: Timestamp) async throws -> Int {
        try await database("release leases") {
            let nowMS = now.millisecondsSinceEpoch
            let released = try await client.rows("""
                WITH released AS (
                    UPDATE deliveries SET state = 'pending', next_attempt_at_ms = \(nowMS), lease_owner = NULL, lease_expires_at_ms = NULL,
                                          updated_at_ms = \(nowMS)
                    WHERE state = 'in_flight' AND lease_owner = \(owner)
                    RETURNING 1
                )
                SELECT count(*) FROM released
                """, logger: logger) { try $0.decode(Int.self) }.first ?? 0
            if released > 0 { await notifyDeliveries() }
            return released
        }
    }

    /// Wakes every process's dispatcher (LISTEN side: `watchDeliveries`)
    /// after a change already committed: a hint, so a failure is logged, not
    /// reported as a failure of the change (polling finds the work anyway).
    func notifyDeliveries() async {
        do {
            try await client.query("SELECT pg_notify(\(Self.deliveriesChannel), '')", logger: logger)
        } catch {
            logger.notice("NOTIFY failed; other processes find the deliveries at their next poll", metadata: [
                "error": "\(PostgresErrorText.describe(error))",
            ])
        }
    }

    public func nextDueAt(endpoints: [String]) async throws -> Timestamp? {
        guard !endpoints.isEmpty else { return nil }
        return try await database("find the next due delivery") {
            // Each MIN is answered from a partial index per endpoint.
            let next = try await client.rows("""
                SELECT min(t) FROM unnest(\(endpoints)::text[]) AS ep(name), LATERAL (VALUES
                    ((SELECT min(next_attempt_at_ms) FROM deliveries WHERE state = 'pending' AND endpoint = ep.name)),
                    ((SELECT min(lease_expires_at_ms) FROM deliveries WHERE state = 'in_flight' AND endpoint = ep.name))) AS v(t)
                """, logger: logger) { try $0.decode(Int64?.self) }.first ?? nil
            return next.map { Timestamp(millisecondsSinceEpoch: $0) }
        }
    }

    public func setEndpoint(_ name: String, disabled: Bool, reason: String?, now: Timestamp) async throws {
        try await database("set endpoint state") {
            let storedReason = disabled ? reason : nil
            try await client.query("""
                INSERT INTO endpoint_states (name, disabled, reason, updated_at_ms) VALUES (\(name), \(disabled), \(storedReason), \(now.millisecondsSinceEpoch))
                ON CONFLICT (name) DO UPDATE SET disabled = excluded.disabled, reason = excluded.reason, updated_at_ms = excluded.updated_at_ms
                """, logger: logger)
            if !disabled { await notifyDeliveries() }
        }
    }

    public func disabledEndpoints() async throws -> [String: String] {
        try await database("read endpoint states") {
            let rows = try await client.rows("SELECT name, reason FROM endpoint_states WHERE disabled", logger: logger) {
                try $0.decode((String, String?).self)
            }
            return Dictionary(rows.map { ($0.0, $0.1 ?? "disabled") }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func endpointStatistics(now: Timestamp) async throws -> [EndpointStatistics] {
        try await database("read endpoint statistics") {
            var byName: [String: EndpointStatistics] = [:]
            let counts = try await client.rows("""
                SELECT endpoint, state, count(*), min(CASE WHEN next_attempt_at_ms <= \(now.millisecondsSinceEpoch) THEN next_attempt_at_ms END)
                FROM deliveries
                WHERE NOT (state = 'dead' AND superseded_by IS NOT NULL)  -- a replayed dead delivery is not dead any more
                GROUP BY endpoint, state
                """, logger: logger) { try $0.decode((String, String, Int, Int64?).self) }
            for (name, state, n, oldestDue) in counts {
                byName[name, default: EndpointStatistics(endpoint: name)].record(count: n, state: state, oldestDueMilliseconds: oldestDue)
            }
            for name in byName.keys {
                let last = try await client.rows("""
                    SELECT a.status_code, a.error, a.started_at_ms FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                    WHERE d.endpoint = \(name) ORDER BY a.started_at_ms DESC, a.id DESC LIMIT 1
                    """, logger: logger) { try $0.decode((Int?, String?, Int64).self) }
                if let (status, error, startedAt) = last.first {
                    byName[name]?.lastStatusCode = status
                    byName[name]?.lastError = error
                    byName[name]?.lastAttemptAt = Timestamp(millisecondsSinceEpoch: startedAt)
                }
            }
            return byName.values.sorted { $0.endpoint < $1.endpoint }
        }
    }

    public func attempts(forDelivery id: Int64) async throws -> [AttemptRecord] {
        try await database("read attempts") {
            try await client.rows("""
                SELECT number, started_at_ms, duration_ms, status_code, error, response_snippet FROM attempts
                WHERE delivery_id = \(id) ORDER BY number, id
                """, logger: logger) { row in
                let (number, startedAt, duration, status, error, snippet) = try row.decode((Int, Int64, Int64, Int?, String?, ByteBuffer?).self)
                return AttemptRecord(number: number, startedAt: Timestamp(millisecondsSinceEpoch: startedAt), durationMilliseconds: duration,
                                     statusCode: status, error: error, responseSnippet: snippet.map { Array($0.readableBytesView) } ?? [])
            }
        }
    }
}

/// Leases up to `limit` due deliveries of one endpoint in one statement:
/// expired leases first (the oldest work), then pending deliveries in due
/// order. `SKIP LOCKED` lets processes leasing at once pass each other's rows.
/// A disabled endpoint leases nothing, checked in the same statement.
struct LeaseDue: PostgresPreparedStatement {
    static let sql = """
        WITH disabled AS (
            SELECT 1 FROM endpoint_states WHERE name = $1 AND disabled
        ), expired AS (
            SELECT id FROM deliveries
            WHERE endpoint = $1 AND state = 'in_flight' AND lease_expires_at_ms <= $2 AND NOT EXISTS (SELECT 1 FROM disabled)
            ORDER BY lease_expires_at_ms LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), fresh AS (
            SELECT id FROM deliveries
            WHERE endpoint = $1 AND state = 'pending' AND next_attempt_at_ms <= $2 AND NOT EXISTS (SELECT 1 FROM disabled)
            ORDER BY next_attempt_at_ms, id LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), picked AS (
            (SELECT id FROM expired) UNION ALL (SELECT id FROM fresh) LIMIT $3
        )
        UPDATE deliveries d SET state = 'in_flight', lease_owner = $4, lease_expires_at_ms = $5, updated_at_ms = $2
        FROM picked, events e
        WHERE d.id = picked.id AND e.id = d.event_id
        RETURNING d.id, d.event_id, d.attempt_count, e.envelope
        """
    typealias Row = (Int64, String, Int, [UInt8])
    var endpoint: String
    var now: Int64
    var limit: Int64
    var owner: String
    var expiresAt: Int64

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 5)
        b.append(endpoint); b.append(now); b.append(limit); b.append(owner); b.append(expiresAt)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (id, eventID, attempts, envelope) = try row.decode((Int64, String, Int, ByteBuffer).self)
        return (id, eventID, attempts, Array(envelope.readableBytesView))
    }
}

/// One finished attempt waiting for its group commit.
struct PostgresCompletion: Sendable {
    var lease: LeasedDelivery
    var attempt: AttemptRecord
    var resolution: DeliveryResolution
    var now: Timestamp

    /// Records every attempt and resolves each delivery whose lease is still
    /// held, in one statement, then releases the successor of every
    /// per-order delivery that ended (succeeded or dead), all in one
    /// transaction: a crash in between leaves the attempt unrecorded and the
    /// lease to expire, never a chain without an active delivery. A failing
    /// batch is retried in halves.
    static func write(_ batch: [PostgresCompletion], client: PostgresClient, logger: Logger) async throws -> [Result<Bool, any Error>] {
        await PostgresBatch.isolating(batch) { batch in
            let statement = CompleteAttempts(batch)
            let resolved = try await client.withTransaction(logger: logger) { connection in
                var resolved = Set<Int64>()
                var finished: [(deliveryID: Int64, orderRef: Int64, now: Int64)] = []
                for (id, orderRef, state, now) in try await connection.rows(statement, logger: logger) {
                    resolved.insert(id)
                    if let orderRef, state != DeliveryState.pending.rawValue { finished.append((id, orderRef, now)) }
                }
                let released = try await PostgresOrderLedger.releaseSuccessors(of: finished, on: connection, logger: logger)
                if released > 0 {
                    try await connection.query("SELECT pg_notify(\(PostgresEventLog.deliveriesChannel), '')", logger: logger)
                }
                return resolved
            }
            return batch.map { resolved.contains($0.lease.id) }
        }
    }
}

/// Inserts the attempts and resolves the deliveries still leased by their
/// owner; returns the id, order row (per-order deliveries), new state and
/// completion time of each delivery it resolved.
struct CompleteAttempts: PostgresPreparedStatement {
    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::bool[], $8::text[], $9::bool[],
                                 $10::bytea[], $11::bool[], $12::text[], $13::int8[], $14::bool[], $15::int8[], $16::int8[])
                AS u(id, owner, number, started_at_ms, duration_ms, status_code, status_null, error, error_null,
                     snippet, snippet_null, state, next_at, next_null, now, lease_expires_at_ms)
        ), recorded AS (
            INSERT INTO attempts (delivery_id, number, started_at_ms, duration_ms, status_code, error, response_snippet)
            SELECT id, number, started_at_ms, duration_ms, CASE WHEN status_null THEN NULL ELSE status_code END,
                   CASE WHEN error_null THEN NULL ELSE error END, CASE WHEN snippet_null THEN NULL ELSE snippet END
            FROM input
        )
        UPDATE deliveries d
        SET state = u.state, attempt_count = d.attempt_count + 1, next_attempt_at_ms = CASE WHEN u.next_null THEN NULL ELSE u.next_at END,
            lease_owner = NULL, lease_expires_at_ms = NULL,
            last_status_code = CASE WHEN u.status_null THEN NULL ELSE u.status_code END,
            last_error = CASE WHEN u.error_null THEN NULL ELSE u.error END, updated_at_ms = u.now
        FROM input u
        WHERE d.id = u.id AND d.state = 'in_flight' AND d.lease_owner = u.owner AND d.lease_expires_at_ms = u.lease_expires_at_ms
        RETURNING d.id, d.order_ref, d.state, u.now
        """
    typealias Row = (Int64, Int64?, String, Int64)
    var ids: [Int64] = []
    var owners: [String] = []
    var numbers: [Int64] = []
    var startedAt: [Int64] = []
    var durations: [Int64] = []
    var statusCodes = NullableColumn<Int64>(placeholder: 0)
    var errors = NullableColumn<String>(placeholder: "")
    var snippets = NullableColumn<ByteBuffer>(placeholder: ByteBuffer())
    var states: [String] = []
    var nextAt = NullableColumn<Int64>(placeholder: 0)
    var now: [Int64] = []
    /// With the owner, the lease token: a re-lease by the same owner has a later expiry.
    var leaseExpiresAt: [Int64] = []

    init(_ batch: [PostgresCompletion]) {
        for completion in batch {
            let attempt = completion.attempt
            ids.append(completion.lease.id)
            owners.append(completion.lease.owner)
            numbers.append(Int64(attempt.number))
            startedAt.append(attempt.startedAt.millisecondsSinceEpoch)
            durations.append(attempt.durationMilliseconds)
            statusCodes.append(attempt.statusCode.map(Int64.init))
            errors.append(attempt.error)
            snippets.append(attempt.responseSnippet.isEmpty ? nil : ByteBuffer(bytes: attempt.responseSnippet))
            switch completion.resolution {
            case .succeeded:
                states.append(DeliveryState.succeeded.rawValue)
                nextAt.append(nil)
            case .dead:
                states.append(DeliveryState.dead.rawValue)
                nextAt.append(nil)
            case .retry(let at):
                states.append(DeliveryState.pending.rawValue)
                nextAt.append(at.millisecondsSinceEpoch)
            }
            now.append(completion.now.millisecondsSinceEpoch)
            leaseExpiresAt.append(completion.lease.leaseExpiresAt.millisecondsSinceEpoch)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 16)
        b.append(ids); b.append(owners); b.append(numbers); b.append(startedAt); b.append(durations)
        b.append(statusCodes.values); b.append(statusCodes.isNull); b.append(errors.values); b.append(errors.isNull)
        b.append(snippets.values); b.append(snippets.isNull); b.append(states); b.append(nextAt.values); b.append(nextAt.isNull); b.append(now)
        b.append(leaseExpiresAt)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, Int64?, String, Int64).self) }
}
