import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

/// Replay selection, scheduling and revisions on PostgreSQL: the same rules
/// as the SQLite log (`ReplayLog`).
extension PostgresEventLog {
    public func replayCandidates(_ selection: ReplaySelection, after cursor: EventID?, limit: Int) async throws -> [ReplayCandidate] {
        guard limit > 0 else { return [] }
        var conditions = Self.replayConditions(selection)
        if let cursor { conditions.add("e.id > ", cursor.rawValue) }
        let sql = "SELECT e.id, e.envelope FROM events e \(conditions.whereClause) ORDER BY e.id LIMIT \(conditions.bind(Int64(limit)))"
        return try await database("select replay candidates") {
            let events = try await client.rows(PostgresQuery(unsafeSQL: sql, binds: conditions.binds), logger: logger, Self.decodeEventRow)
            let deliveries = try await fetchDeliveries(eventIDs: events.map(\.id))
            return events.map { ReplayCandidate(event: $0, deliveries: deliveries[$0.id] ?? []) }
        }
    }

    public func replayCandidateCount(_ selection: ReplaySelection) async throws -> Int {
        let conditions = Self.replayConditions(selection)
        return try await database("count replay candidates") {
            try await client.rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM events e \(conditions.whereClause)", binds: conditions.binds),
                                  logger: logger) { try $0.decode(Int.self) }.first ?? 0
        }
    }

    /// The WHERE conditions over alias `e` for a selection.
    static func replayConditions(_ selection: ReplaySelection) -> PostgresConditions {
        var conditions = PostgresConditions()
        if !selection.eventIDs.isEmpty { conditions.add("e.id = ANY(", selection.eventIDs.map(\.rawValue), suffix: "::text[])") }
        if let since = selection.since { conditions.add("e.received_at_ms >= ", since.millisecondsSinceEpoch) }
        if let until = selection.until { conditions.add("e.received_at_ms < ", until.millisecondsSinceEpoch) }
        if let provider = selection.provider { conditions.add("e.provider = ", provider) }
        if let type = selection.type { conditions.add("e.type = ", type.rawValue) }
        if let state = selection.state {
            var delivery = EventLogSQL.replayDeliveryCondition(state)
            if let endpoint = selection.endpoint { delivery += " AND d.endpoint = " + conditions.bind(endpoint) }
            conditions.add(raw: "EXISTS (SELECT 1 FROM deliveries d WHERE \(delivery))")
        }
        return conditions
    }

    @discardableResult
    public func scheduleReplay(_ plans: [ReplayPlan], now: Timestamp) async throws -> Int {
        let nowMS = now.millisecondsSinceEpoch
        return try await database("schedule a replay") {
            try await client.withTransaction(logger: logger) { [logger] connection in
                var created = 0
                for plan in plans {
                    for endpoint in Set(plan.endpoints).sorted() {
                        var insert = InsertDeliveries(now: nowMS)
                        insert.append(eventID: plan.eventID.rawValue, endpoint: endpoint)
                        guard let id = try await connection.rows(insert, logger: logger).first else { continue }
                        created += 1
                        if let old = plan.supersedes[endpoint] {
                            try await connection.query("""
                                UPDATE deliveries SET superseded_by = \(id), updated_at_ms = \(nowMS) WHERE id = \(old) AND event_id = \(plan.eventID.rawValue)
                                """, logger: logger)
                        }
                    }
                }
                if created > 0 { try await connection.query("SELECT pg_notify(\(Self.deliveriesChannel), '')", logger: logger) }
                return created
            }
        }
    }

    public func revise(_ event: Event, now: Timestamp) async throws -> RevisionOutcome? {
        try await database("revise an event") {
            try await client.withTransaction(logger: logger) { [logger] connection in
                try await Self.writeRevision(event, on: connection, logger: logger, now: now.millisecondsSinceEpoch)
            }
        }
    }

    /// Keeps the current form in `event_revisions` and stores `event` as the
    /// next revision, placed again in its order's story (the order rebuilt,
    /// and the order it left, `PostgresOrderLedger.replace`). The event row
    /// is locked first, so two processes revising at once number their
    /// revisions one after the other, then the orders' rows (`FOR UPDATE`,
    /// through `PostgresOrderLedger.lock`), so the placement's sequence
    /// follows every other placement of the order. Nil if the event is unknown.
    static func writeRevision(_ event: Event, on connection: PostgresConnection, logger: Logger, now: Int64) async throws -> RevisionOutcome? {
        var current: (Int64, String, ByteBuffer)?
        for try await row in try await connection.query("""
            SELECT revision, type, envelope FROM events WHERE id = \(event.id.rawValue) FOR UPDATE
            """, logger: logger).decode((Int64, String, ByteBuffer).self) {
            current = row
        }
        guard let (revision, type, envelope) = current else { return nil }
        let previous = try? Event(envelopeBytes: Array(envelope.readableBytesView))
        try await connection.query("""
            INSERT INTO event_revisions (event_id, revision, type, envelope, replaced_at_ms)
            VALUES (\(event.id.rawValue), \(revision), \(type), \(envelope), \(now))
            """, logger: logger)
        var revised = event
        _ = try await PostgresOrderLedger.replace(&revised, previous: previous, now: now, on: connection, logger: logger)
        try await connection.query("""
            UPDATE events SET type = \(revised.type.rawValue), verified = \(revised.data.verified), order_id = \(revised.data.orderID?.postgresText),
                              envelope = \(ByteBuffer(bytes: revised.envelopeBytes)), revision = \(revision + 1)
            WHERE id = \(revised.id.rawValue)
            """, logger: logger)
        return RevisionOutcome(event: revised, previousOrder: previous?.data.order)
    }

    public func revisions(of id: EventID) async throws -> [EventRevision] {
        try await database("read revisions") {
            try await client.rows("""
                SELECT revision, envelope, replaced_at_ms FROM event_revisions WHERE event_id = \(id.rawValue) ORDER BY revision
                """, logger: logger) { row in
                let (revision, envelope, replacedAt) = try row.decode((Int, ByteBuffer, Int64).self)
                return EventRevision(revision: revision, event: try Self.decodeEvent(id: id.rawValue, envelope: envelope),
                                     replacedAt: Timestamp(millisecondsSinceEpoch: replacedAt))
            }
        }
    }
}
