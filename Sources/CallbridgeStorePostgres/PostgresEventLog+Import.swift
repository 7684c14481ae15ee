import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// Writing rows exported from another log (`callbridge log copy`), keeping
/// every id: event ids, delivery ids, attempt ids and order ids (deliveries
/// of `per_order` endpoints name their order row by id).
///
/// Invariants:
/// - a batch is written in one transaction, so a copy that is interrupted
///   leaves whole batches behind, never an event without its deliveries;
/// - every insert is `ON CONFLICT DO NOTHING`, so copying again a batch that
///   is there already writes nothing: an interrupted copy is simply run again;
/// - ids are written explicitly, which leaves the `BIGSERIAL` sequences behind;
///   `finishImport` must run after the last batch and before any process
///   appends to this log, or its new deliveries would collide with copied ids.
extension PostgresEventLog {
    /// Inserts every row of `batch` in one transaction and returns how many
    /// rows of each table were inserted (rows already present are skipped
    /// and not counted). Deliveries are inserted with their `superseded_by`
    /// in one statement: the reference is checked at the end of the
    /// statement, and the delivery it names is of the same event, hence in
    /// the same batch (or copied already).
    @discardableResult
    public func importBatch(_ batch: LogCopyBatch) async throws -> LogCopyCounts {
        guard batch.counts != .zero else { return .zero }
        let events = InsertRows(EventColumns(batch.events))
        let raws = InsertRows(RawRequestColumns(batch.rawRequests))
        let deliveries = InsertRows(DeliveryColumns(batch.deliveries))
        let attempts = InsertRows(AttemptColumns(batch.attempts))
        let revisions = InsertRows(RevisionColumns(batch.revisions))
        let orders = InsertRows(OrderColumns(batch.orders))
        return try await database("import a batch of \(batch.events.count) events") {
            try await client.withTransaction(logger: logger) { [logger] connection in
                var counts = LogCopyCounts.zero
                counts.events = try await connection.insert(events, logger: logger)
                counts.rawRequests = try await connection.insert(raws, logger: logger)
                counts.deliveries = try await connection.insert(deliveries, logger: logger)
                counts.attempts = try await connection.insert(attempts, logger: logger)
                counts.revisions = try await connection.insert(revisions, logger: logger)
                counts.orders = try await connection.insert(orders, logger: logger)
                return counts
            }
        }
    }

    /// How many rows of `batch` this log holds as they are in the batch:
    /// events by `(id, revision)`, raw requests by event id, deliveries by
    /// `(id, event_id, updated_at_ms)` (every change to a delivery moves
    /// `updated_at_ms`), attempts by `(id, delivery_id)`, revisions by
    /// `(event_id, revision)`, orders by `(id, provider, order_id,
    /// updated_at_ms)` (every placement moves `updated_at_ms`). After a successful `importBatch` it equals
    /// `batch.counts`; less means rows were skipped because a row with the
    /// same key was there already and differs (another log's row, or a copy
    /// taken before the source changed).
    public func presentCounts(of batch: LogCopyBatch) async throws -> LogCopyCounts {
        guard batch.counts != .zero else { return .zero }
        let statement = PresentCounts(batch)
        return try await database("count copied rows") {
            try await client.withConnection { [logger] connection in
                var counts = LogCopyCounts.zero
                for try await row in try await connection.execute(statement, logger: logger) {
                    counts = LogCopyCounts(events: row.0, rawRequests: row.1, deliveries: row.2, attempts: row.3, revisions: row.4, orders: row.5,
                                           endpointStates: 0)
                }
                return counts
            }
        }
    }

    /// Writes endpoint states (disabled endpoints, and endpoints enabled
    /// again) and returns how many rows were inserted or updated. A name
    /// present already keeps its row unless `states` has a newer one
    /// (greater `updatedAtMilliseconds`), so copying again changes nothing.
    @discardableResult
    public func importEndpointStates(_ states: [LogCopyEndpointState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        let statement = ImportEndpointStates(states)
        return try await database("import endpoint states") {
            try await client.withConnection { [logger] connection in try await connection.count(statement, logger: logger) }
        }
    }

    /// How many of the endpoints named in `states` have a state row in this log.
    public func presentEndpointStateCount(_ states: [LogCopyEndpointState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        let names = states.map(\.name)
        return try await database("count copied endpoint states") {
            try await client.rows("SELECT count(*) FROM endpoint_states WHERE name = ANY(\(names)::text[])", logger: logger) {
                try $0.decode(Int.self)
            }.first ?? 0
        }
    }

    /// Moves the `deliveries`, `attempts` and `orders` id sequences past the
    /// greatest id stored (never backwards), so the next delivery, attempt or
    /// order created on this log gets an id greater than every copied one.
    public func finishImport() async throws {
        try await database("advance the id sequences") {
            try await client.withTransaction(logger: logger) { [logger] connection in
                for table in ["deliveries", "attempts", "orders"] {
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table)', 'id'),
                                      GREATEST((SELECT COALESCE(max(id), 0) FROM \(table)),
                                               COALESCE(pg_sequence_last_value(pg_get_serial_sequence('\(table)', 'id')::regclass), 0)) + 1,
                                      false)
                        """), logger: logger)
                }
            }
        }
    }

    /// How many rows each table of this log holds.
    public func importCounts() async throws -> LogCopyCounts {
        try await database("count rows") {
            try await client.rows("""
                SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM raw_requests), (SELECT count(*) FROM deliveries),
                       (SELECT count(*) FROM attempts), (SELECT count(*) FROM event_revisions), (SELECT count(*) FROM orders),
                       (SELECT count(*) FROM endpoint_states)
                """, logger: logger) { row in
                let (events, raws, deliveries, attempts, revisions, orders, states) = try row.decode((Int, Int, Int, Int, Int, Int, Int).self)
                return LogCopyCounts(events: events, rawRequests: raws, deliveries: deliveries, attempts: attempts, revisions: revisions,
                                     orders: orders, endpointStates: states)
            }.first ?? .zero
        }
    }

    /// Event ids strictly after `cursor` (from the first when nil), at most
    /// `limit`, in id order: for paging through every id of this log, e.g.
    /// to check a copy target holds no event of another log.
    public func eventIDs(after cursor: EventID?, limit: Int) async throws -> [EventID] {
        guard limit > 0 else { return [] }
        let after = cursor?.rawValue ?? ""
        return try await database("list event ids") {
            try await client.rows("SELECT id FROM events WHERE id > \(after) ORDER BY id LIMIT \(Int64(limit))", logger: logger) { row in
                let text = try row.decode(String.self)
                guard let id = EventID(text) else { throw PostgresEventLogError.corruptRow(table: "events", key: text, reason: "not an event id") }
                return id
            }
        }
    }
}

extension PostgresConnection {
    /// Runs a statement whose one row is one count.
    fileprivate func count<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws -> Int
    where Statement.Row == Int {
        try await rows(statement, logger: logger).first ?? 0
    }
}

/// `endpoint_states` rows; a newer row replaces an older one. Returns how
/// many rows were inserted or updated.
private struct ImportEndpointStates: PostgresPreparedStatement {
    static let sql = """
        WITH written AS (
            INSERT INTO endpoint_states (name, disabled, reason, updated_at_ms)
            SELECT name, disabled, CASE WHEN reason_null THEN NULL ELSE reason END, updated_at_ms
            FROM unnest($1::text[], $2::bool[], $3::text[], $4::bool[], $5::int8[]) AS r(name, disabled, reason, reason_null, updated_at_ms)
            ON CONFLICT (name) DO UPDATE SET disabled = excluded.disabled, reason = excluded.reason, updated_at_ms = excluded.updated_at_ms
            WHERE endpoint_states.updated_at_ms < excluded.updated_at_ms
            RETURNING 1
        )
        SELECT count(*)::int8 FROM written
        """
    typealias Row = Int

    var names: [String] = []
    var disabled: [Bool] = []
    var reasons = NullableColumn<String>(placeholder: "")
    var updatedAt: [Int64] = []

    init(_ rows: [LogCopyEndpointState]) {
        for row in rows {
            names.append(row.name)
            disabled.append(row.disabled)
            reasons.append(row.reason)
            updatedAt.append(row.updatedAtMilliseconds)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 5)
        b.append(names); b.append(disabled); b.append(reasons.values); b.append(reasons.isNull); b.append(updatedAt)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}

/// How many rows of a batch the log holds, matched by key (see `presentCounts`).
private struct PresentCounts: PostgresPreparedStatement {
    static let sql = """
        SELECT (SELECT count(*) FROM events e JOIN unnest($1::text[], $2::int8[]) AS k(id, revision)
                    ON e.id = k.id AND e.revision = k.revision)::int8,
               (SELECT count(*) FROM raw_requests r JOIN unnest($3::text[]) AS k(event_id) ON r.event_id = k.event_id)::int8,
               (SELECT count(*) FROM deliveries d JOIN unnest($4::int8[], $5::text[], $6::int8[]) AS k(id, event_id, updated_at_ms)
                    ON d.id = k.id AND d.event_id = k.event_id AND d.updated_at_ms = k.updated_at_ms)::int8,
               (SELECT count(*) FROM attempts a JOIN unnest($7::int8[], $8::int8[]) AS k(id, delivery_id)
                    ON a.id = k.id AND a.delivery_id = k.delivery_id)::int8,
               (SELECT count(*) FROM event_revisions v JOIN unnest($9::text[], $10::int8[]) AS k(event_id, revision)
                    ON v.event_id = k.event_id AND v.revision = k.revision)::int8,
               (SELECT count(*) FROM orders o JOIN unnest($11::int8[], $12::text[], $13::text[], $14::int8[])
                    AS k(id, provider, order_id, updated_at_ms)
                    ON o.id = k.id AND o.provider = k.provider AND o.order_id = k.order_id AND o.updated_at_ms = k.updated_at_ms)::int8
        """
    typealias Row = (Int, Int, Int, Int, Int, Int)

    let eventIDs: [String]
    let eventRevisions: [Int64]
    let rawEventIDs: [String]
    let deliveryIDs: [Int64]
    let deliveryEventIDs: [String]
    let deliveryUpdatedAt: [Int64]
    let attemptIDs: [Int64]
    let attemptDeliveryIDs: [Int64]
    let revisionEventIDs: [String]
    let revisionNumbers: [Int64]
    let orderIDs: [Int64]
    let orderProviders: [String]
    let orderKeys: [String]
    let orderUpdatedAt: [Int64]

    init(_ batch: LogCopyBatch) {
        eventIDs = batch.events.map(\.id.rawValue)
        eventRevisions = batch.events.map(\.revision)
        rawEventIDs = batch.rawRequests.map(\.eventID.rawValue)
        deliveryIDs = batch.deliveries.map(\.id)
        deliveryEventIDs = batch.deliveries.map(\.eventID.rawValue)
        deliveryUpdatedAt = batch.deliveries.map(\.updatedAtMilliseconds)
        attemptIDs = batch.attempts.map(\.id)
        attemptDeliveryIDs = batch.attempts.map(\.deliveryID)
        revisionEventIDs = batch.revisions.map(\.eventID.rawValue)
        revisionNumbers = batch.revisions.map(\.revision)
        orderIDs = batch.orders.map(\.id)
        orderProviders = batch.orders.map(\.provider.postgresText)
        orderKeys = batch.orders.map(\.orderID.postgresText)
        orderUpdatedAt = batch.orders.map(\.updatedAtMilliseconds)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 14)
        b.append(eventIDs); b.append(eventRevisions); b.append(rawEventIDs); b.append(deliveryIDs); b.append(deliveryEventIDs)
        b.append(deliveryUpdatedAt)
        b.append(attemptIDs); b.append(attemptDeliveryIDs); b.append(revisionEventIDs); b.append(revisionNumbers)
        b.append(orderIDs); b.append(orderProviders); b.append(orderKeys); b.append(orderUpdatedAt)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int, Int, Int, Int, Int, Int).self) }
}
