import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

/// Replay selection, scheduling, revisions and confirmation on PostgreSQL:
/// the same rules as the SQLite log (`ReplayLog`, `EventLog.confirm`).
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
                        insert.eventIDs = [plan.eventID.rawValue]
                        insert.endpoints = [endpoint]
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

    public func revise(_ event: Event, now: Timestamp) async throws -> Bool {
        try await database("revise an event") {
            try await client.withTransaction(logger: logger) { [logger] connection in
                try await Self.writeRevision(event, on: connection, logger: logger, now: now.millisecondsSinceEpoch, onlyIfUnverified: false)
            }
        }
    }

    public func confirm(_ event: Event, addingDeliveriesTo endpoints: [String]) async throws -> Int? {
        let now = AppendBatchWriter.currentTimestamp().millisecondsSinceEpoch
        return try await database("confirm an event") {
            try await client.withTransaction(logger: logger) { [logger] connection -> Int? in
                guard try await Self.writeRevision(event, on: connection, logger: logger, now: now, onlyIfUnverified: true) else { return nil }
                var existing = Set<String>()
                for try await endpoint in try await connection.query("SELECT endpoint FROM deliveries WHERE event_id = \(event.id.rawValue)",
                                                                     logger: logger).decode(String.self) {
                    existing.insert(endpoint)
                }
                var insert = InsertDeliveries(now: now)
                var added = Set<String>()
                for endpoint in endpoints where !existing.contains(endpoint) && added.insert(endpoint).inserted {
                    insert.eventIDs.append(event.id.rawValue)
                    insert.endpoints.append(endpoint)
                }
                if !insert.eventIDs.isEmpty {
                    _ = try await connection.rows(insert, logger: logger)
                    try await connection.query("SELECT pg_notify(\(Self.deliveriesChannel), '')", logger: logger)
                }
                return added.count
            }
        }
    }

    /// Keeps the current form in `event_revisions` and stores `event` as the
    /// next revision; the event row is locked first, so two processes
    /// revising at once number their revisions one after the other.
    static func writeRevision(_ event: Event, on connection: PostgresConnection, logger: Logger, now: Int64, onlyIfUnverified: Bool) async throws -> Bool {
        var current: (Int64, String, ByteBuffer, Bool)?
        for try await row in try await connection.query("""
            SELECT revision, type, envelope, verified FROM events WHERE id = \(event.id.rawValue) FOR UPDATE
            """, logger: logger).decode((Int64, String, ByteBuffer, Bool).self) {
            current = row
        }
        guard let (revision, type, envelope, verified) = current else { return false }
        if onlyIfUnverified, verified { return false }
        try await connection.query("""
            INSERT INTO event_revisions (event_id, revision, type, envelope, replaced_at_ms)
            VALUES (\(event.id.rawValue), \(revision), \(type), \(envelope), \(now))
            """, logger: logger)
        try await connection.query("""
            UPDATE events SET type = \(event.type.rawValue), verified = \(event.data.verified), order_id = \(event.data.orderID),
                              envelope = \(ByteBuffer(bytes: event.envelopeBytes)), revision = \(revision + 1)
            WHERE id = \(event.id.rawValue)
            """, logger: logger)
        return true
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
