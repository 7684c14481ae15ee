import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

extension PostgresEventLog {
    public func event(id: EventID) async throws -> StoredEvent? {
        try await database("read an event") {
            try await client.rows("""
                SELECT e.id, e.dedup_key, e.envelope, r.method, r.path, r.query, r.headers, r.body, r.remote_address, r.received_at_ms
                FROM events e JOIN raw_requests r ON r.event_id = e.id
                WHERE e.id = \(id.rawValue)
                """, logger: logger) { row in
                let (eventID, dedupKey, envelope, method, path, query, headersText, body, address, receivedAt) =
                    try row.decode((String, String?, ByteBuffer, String, String, String, String, ByteBuffer, String?, Int64).self)
                let headers: [HeaderField]
                do {
                    headers = try HeaderCoding.parse(headersText)
                } catch {
                    throw PostgresEventLogError.corruptRow(table: "raw_requests", key: eventID, reason: "headers: \(error)")
                }
                let raw = RawRequest(method: method, path: path, query: query, headers: headers, body: Array(body.readableBytesView),
                                     remoteAddress: address, receivedAt: Timestamp(millisecondsSinceEpoch: receivedAt))
                return StoredEvent(event: try Self.decodeEvent(id: eventID, envelope: envelope), raw: raw, dedupKey: dedupKey)
            }.first
        }
    }

    public func deliveries(forEvent id: EventID) async throws -> [DeliveryRecord] {
        try await database("read deliveries") { try await fetchDeliveries(eventIDs: [id])[id] ?? [] }
    }

    /// The deliveries of each event, in id order.
    func fetchDeliveries(eventIDs: [EventID]) async throws -> [EventID: [DeliveryRecord]] {
        guard !eventIDs.isEmpty else { return [:] }
        let rows = try await client.rows("""
            SELECT id, event_id, endpoint, state, attempt_count, next_attempt_at_ms, last_status_code, last_error, created_at_ms, superseded_by
            FROM deliveries WHERE event_id = ANY(\(eventIDs.map(\.rawValue))::text[]) ORDER BY id
            """, logger: logger) { row in
            let (id, eventText, endpoint, stateText, attempts, next, status, error, created, supersededBy) =
                try row.decode((Int64, String, String, String, Int, Int64?, Int?, String?, Int64, Int64?).self)
            guard let state = DeliveryState(rawValue: stateText), let eventID = EventID(eventText) else {
                throw PostgresEventLogError.corruptRow(table: "deliveries", key: String(id), reason: "state \(stateText), event \(eventText)")
            }
            return DeliveryRecord(id: id, eventID: eventID, endpoint: endpoint, state: state, attemptCount: attempts,
                                  nextAttemptAt: next.map(Timestamp.init(millisecondsSinceEpoch:)), lastStatusCode: status, lastError: error,
                                  createdAt: Timestamp(millisecondsSinceEpoch: created), supersededBy: supersededBy)
        }
        return Dictionary(grouping: rows, by: \.eventID)
    }

    /// An event from a row of `(id, envelope)`.
    static func decodeEventRow(_ row: PostgresRow) throws -> Event {
        let (id, envelope) = try row.decode((String, ByteBuffer).self)
        return try decodeEvent(id: id, envelope: envelope)
    }

    static func decodeEvent(id: String, envelope: ByteBuffer) throws -> Event {
        do {
            return try Event(envelopeBytes: Array(envelope.readableBytesView))
        } catch {
            throw PostgresEventLogError.corruptRow(table: "events", key: id, reason: error.description)
        }
    }
}

/// A WHERE clause built from conditions with `$n` parameters, for queries
/// whose filters are optional.
///
/// Invariant: each bound value gets the next `$n`, in the order of `binds`.
struct PostgresConditions {
    private(set) var clauses: [String] = []
    private(set) var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder (`$n`).
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    /// Adds `prefix $n` (e.g. `provider = `), binding `value`.
    mutating func add<Value: PostgresDynamicTypeEncodable>(_ prefix: String, _ value: Value, suffix: String = "") {
        let placeholder = bind(value)
        clauses.append(prefix + placeholder + suffix)
    }

    /// Adds a condition with no parameter.
    mutating func add(raw clause: String) { clauses.append(clause) }

    var whereClause: String { clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") }
}
