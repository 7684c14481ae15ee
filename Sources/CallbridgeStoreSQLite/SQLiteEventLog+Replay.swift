import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// Replay selection, scheduling and event revisions on SQLite.
extension SQLiteEventLog {
    public func replayCandidates(_ selection: ReplaySelection, after cursor: EventID?, limit: Int) async throws -> [ReplayCandidate] {
        guard limit > 0 else { return [] }
        return try await dbPool.read { db in
            var (conditions, arguments) = Self.replayConditions(selection)
            if let cursor {
                conditions.append("e.id > ?")
                arguments.append(cursor.rawValue)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(limit)
            let rows = try Row.fetchAll(db, sql: "SELECT e.id, e.envelope FROM events e \(whereClause) ORDER BY e.id LIMIT ?",
                                        arguments: StatementArguments(arguments))
            return try rows.map { row in
                let event = try Self.decodeEvent(row)
                return ReplayCandidate(event: event, deliveries: try Self.fetchDeliveries(db, eventID: event.id))
            }
        }
    }

    public func replayCandidateCount(_ selection: ReplaySelection) async throws -> Int {
        try await dbPool.read { db in
            let (conditions, arguments) = Self.replayConditions(selection)
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events e \(whereClause)", arguments: StatementArguments(arguments)) ?? 0
        }
    }

    /// The WHERE conditions (over alias `e`) and their arguments for a selection.
    static func replayConditions(_ selection: ReplaySelection) -> ([String], [any DatabaseValueConvertible]) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if !selection.eventIDs.isEmpty {
            conditions.append("e.id IN (\(Array(repeating: "?", count: selection.eventIDs.count).joined(separator: ",")))")
            arguments += selection.eventIDs.map(\.rawValue)
        }
        if let since = selection.since {
            conditions.append("e.received_at_ms >= ?")
            arguments.append(since.millisecondsSinceEpoch)
        }
        if let until = selection.until {
            conditions.append("e.received_at_ms < ?")
            arguments.append(until.millisecondsSinceEpoch)
        }
        if let provider = selection.provider {
            conditions.append("e.provider = ?")
            arguments.append(provider)
        }
        if let type = selection.type {
            conditions.append("e.type = ?")
            arguments.append(type.rawValue)
        }
        if let state = selection.state {
            var delivery = EventLogSQL.replayDeliveryCondition(state)
            if let endpoint = selection.endpoint {
                delivery += " AND d.endpoint = ?"
                arguments.append(endpoint)
            }
            conditions.append("EXISTS (SELECT 1 FROM deliveries d WHERE \(delivery))")
        }
        return (conditions, arguments)
    }

    @discardableResult
    public func scheduleReplay(_ plans: [ReplayPlan], now: Timestamp) async throws -> Int {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        let nowMS = now.millisecondsSinceEpoch
        return try await dbPool.write { db in
            var created = 0
            for plan in plans {
                for endpoint in Set(plan.endpoints).sorted() {
                    try db.execute(sql: """
                        INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms)
                        VALUES (?, ?, 'pending', 0, ?, ?, ?)
                        """, arguments: [plan.eventID.rawValue, endpoint, nowMS, nowMS, nowMS])
                    created += 1
                    if let old = plan.supersedes[endpoint] {
                        try db.execute(sql: "UPDATE deliveries SET superseded_by = ?, updated_at_ms = ? WHERE id = ? AND event_id = ?",
                                       arguments: [db.lastInsertedRowID, nowMS, old, plan.eventID.rawValue])
                    }
                }
            }
            return created
        }
    }

    public func revise(_ event: Event, now: Timestamp) async throws -> RevisionOutcome? {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        return try await dbPool.write { db in
            try Self.writeRevision(event, in: db, now: now.millisecondsSinceEpoch)
        }
    }

    /// Makes `event` the current form of itself after keeping the current one
    /// in `event_revisions`, placing it again in its order's story: the one
    /// way an event's stored form changes (re-normalization). Nil if the
    /// event is unknown.
    static func writeRevision(_ event: Event, in db: Database, now: Int64) throws -> RevisionOutcome? {
        guard let current = try Row.fetchOne(db, sql: "SELECT revision, type, envelope FROM events WHERE id = ?", arguments: [event.id.rawValue]) else {
            return nil
        }
        let revision: Int = current["revision"]
        let type: String = current["type"]
        let envelope: Data = current["envelope"]
        let previous = try? Event(envelopeBytes: [UInt8](envelope))
        try db.execute(sql: """
            INSERT INTO event_revisions (event_id, revision, type, envelope, replaced_at_ms) VALUES (?, ?, ?, ?, ?)
            """, arguments: [event.id.rawValue, revision, type, envelope, now])
        var revised = event
        // The replaced form may have moved the order: the order is rebuilt rather than the new form applied on top.
        _ = try replaceInOrder(&revised, previous: previous, now: now, in: db)
        try db.execute(sql: """
            UPDATE events SET type = ?, verified = ?, order_id = ?, envelope = ?, revision = ? WHERE id = ?
            """, arguments: [revised.type.rawValue, revised.data.verified, revised.data.orderID, Data(revised.envelopeBytes), revision + 1,
                             revised.id.rawValue])
        return RevisionOutcome(event: revised, previousOrder: previous?.data.order)
    }

    public func revisions(of id: EventID) async throws -> [EventRevision] {
        try await dbPool.read { db in try Self.fetchRevisions(db, eventID: id) }
    }

    static func fetchRevisions(_ db: Database, eventID id: EventID) throws -> [EventRevision] {
        try Row.fetchAll(db, sql: "SELECT revision, envelope, replaced_at_ms FROM event_revisions WHERE event_id = ? ORDER BY revision",
                         arguments: [id.rawValue]).map { row in
            let envelope: Data = row["envelope"]
            return EventRevision(revision: row["revision"], event: try Event(envelopeBytes: [UInt8](envelope)),
                                 replacedAt: Timestamp(millisecondsSinceEpoch: row["replaced_at_ms"]))
        }
    }
}
