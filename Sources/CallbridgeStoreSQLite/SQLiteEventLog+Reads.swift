import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

extension SQLiteEventLog {
    public func event(id: EventID) async throws -> StoredEvent? {
        try await dbPool.read { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT e.id, e.dedup_key, e.envelope,
                           r.method, r.path, r.query, r.headers, r.body, r.remote_address, r.received_at_ms
                    FROM events e JOIN raw_requests r ON r.event_id = e.id
                    WHERE e.id = ?
                    """,
                arguments: [id.rawValue])
            else { return nil }
            return try StoredEvent(
                event: Self.decodeEvent(row),
                raw: Self.decodeRawRequest(row, eventID: id.rawValue),
                dedupKey: row.decode(String?.self, forColumn: "dedup_key"))
        }
    }

    public func deliveries(forEvent id: EventID) async throws -> [DeliveryRecord] {
        try await dbPool.read { db in try Self.fetchDeliveries(db, eventID: id) }
    }

    static func fetchDeliveries(_ db: Database, eventID id: EventID) throws -> [DeliveryRecord] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, endpoint, state, attempt_count, next_attempt_at_ms, last_status_code, last_error, created_at_ms, superseded_by
                FROM deliveries WHERE event_id = ? ORDER BY id
                """,
            arguments: [id.rawValue]
        ).map { row in
            let deliveryID = try row.decode(Int64.self, forColumn: "id")
            let stateText = try row.decode(String.self, forColumn: "state")
            guard let state = DeliveryState(rawValue: stateText) else {
                throw SQLiteEventLogError.corruptRow(table: "deliveries", key: String(deliveryID), reason: "unknown state \(stateText)")
            }
            return DeliveryRecord(
                id: deliveryID,
                eventID: id,
                endpoint: try row.decode(String.self, forColumn: "endpoint"),
                state: state,
                attemptCount: try row.decode(Int.self, forColumn: "attempt_count"),
                nextAttemptAt: try row.decode(Int64?.self, forColumn: "next_attempt_at_ms").map(Timestamp.init(millisecondsSinceEpoch:)),
                lastStatusCode: try row.decode(Int?.self, forColumn: "last_status_code"),
                lastError: try row.decode(String?.self, forColumn: "last_error"),
                createdAt: Timestamp(millisecondsSinceEpoch: try row.decode(Int64.self, forColumn: "created_at_ms")),
                supersededBy: try row.decode(Int64?.self, forColumn: "superseded_by"))
        }
    }

    static func decodeEvent(_ row: Row) throws -> Event {
        let id = try row.decode(String.self, forColumn: "id")
        let envelope = try row.decode(Data.self, forColumn: "envelope")
        do {
            return try Event(envelopeBytes: [UInt8](envelope))
        } catch {
            throw SQLiteEventLogError.corruptRow(table: "events", key: id, reason: error.description)
        }
    }

    /// The raw request from a row with the `raw_requests` columns.
    static func decodeRawRequest(_ row: Row, eventID: String) throws -> RawRequest {
        let headers: [HeaderField]
        do {
            headers = try HeaderCoding.parse(try row.decode(String.self, forColumn: "headers"))
        } catch {
            throw SQLiteEventLogError.corruptRow(table: "raw_requests", key: eventID, reason: "headers: \(error)")
        }
        let body = try row.decode(Data?.self, forColumn: "body") ?? Data()
        return RawRequest(
            method: try row.decode(String.self, forColumn: "method"),
            path: try row.decode(String.self, forColumn: "path"),
            query: try row.decode(String.self, forColumn: "query"),
            headers: headers,
            body: [UInt8](body),
            remoteAddress: try row.decode(String?.self, forColumn: "remote_address"),
            receivedAt: Timestamp(millisecondsSinceEpoch: try row.decode(Int64.self, forColumn: "received_at_ms")))
    }
}
