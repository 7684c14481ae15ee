import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB

/// The order ledger on SQLite: placing events inside the write transactions
/// that store them, the per-order delivery chains, and reading orders back.
/// SQLite has one writer, so reading an entry and writing it back in one
/// transaction is already serialized.
extension SQLiteEventLog {
    /// Places `event` in its order's story (setting `event.data.order`) and
    /// saves the entry. Nil, and `data.order` cleared, without an order id.
    static func placeInOrder(_ event: inout Event, now: Int64, in db: Database) throws -> OrderSlot? {
        guard let orderID = event.data.orderID, !orderID.isEmpty else {
            event.data.order = nil
            return nil
        }
        let found = try fetchEntry(provider: event.data.provider, orderID: orderID, in: db)
        var entry = found?.1 ?? OrderLedgerEntry(provider: event.data.provider, orderID: orderID)
        let placement = OrderLedger.place(event, in: &entry)
        let rowID = try save(entry, rowID: found?.0, now: now, in: db)
        event.data.order = placement
        return OrderSlot(placement: placement, rowID: rowID, entry: entry)
    }

    /// Places a re-normalized `event` (its earlier form `previous` kept as a
    /// revision already) by rebuilding its order's entry from the current
    /// forms of the order's events (`OrderLedger.rebuild`), so its old form
    /// is not counted twice; an order the event left is rebuilt without it.
    static func replaceInOrder(_ event: inout Event, previous: Event?, now: Int64, in db: Database) throws -> OrderSlot? {
        if let previous, let oldID = previous.data.orderID, !oldID.isEmpty,
           previous.data.provider != event.data.provider || oldID != event.data.orderID {
            _ = try rebuildOrder(provider: previous.data.provider, orderID: oldID, replacing: event.id, with: nil, now: now, in: db)
        }
        guard let orderID = event.data.orderID, !orderID.isEmpty else {
            event.data.order = nil
            return nil
        }
        let slot = try rebuildOrder(provider: event.data.provider, orderID: orderID, replacing: event.id, with: event, now: now, in: db)
        event.data.order = slot?.placement
        return slot
    }

    /// Rebuilds (provider, order id)'s entry with event `id` in the form
    /// `form` (nil: without it) and saves it; the slot of `form`.
    static func rebuildOrder(provider: String, orderID: String, replacing id: EventID, with form: Event?, now: Int64,
                             in db: Database) throws -> OrderSlot? {
        let found = try fetchEntry(provider: provider, orderID: orderID, in: db)
        var histories = try orderEvents(provider: provider, orderID: orderID, in: db)
            .filter { $0.event.id != id }
            .map { OrderEventHistory(current: $0.event, earlier: $0.earlier.map(\.event)) }
        if let form { histories.append(OrderEventHistory(current: form, earlier: try fetchRevisions(db, eventID: id).map(\.event))) }
        let (entry, placement) = OrderLedger.rebuild(found?.1 ?? OrderLedgerEntry(provider: provider, orderID: orderID),
                                                     histories: histories, revised: form?.id)
        let rowID = try save(entry, rowID: found?.0, now: now, in: db)
        return placement.map { OrderSlot(placement: $0, rowID: rowID, entry: entry) }
    }

    /// The events whose current form names (provider, order id), by id, with
    /// their revision number and earlier revisions: what the story shows and
    /// what a rebuild replays.
    static func orderEvents(provider: String, orderID: String, in db: Database) throws -> [(event: Event, revision: Int, earlier: [EventRevision])] {
        try Row.fetchAll(db, sql: "SELECT id, envelope, revision FROM events WHERE provider = ? AND order_id = ? ORDER BY id",
                         arguments: [provider, orderID]).map { row in
            let event = try decodeEvent(row)
            return (event, row["revision"], try fetchRevisions(db, eventID: event.id))
        }
    }

    static func fetchEntry(provider: String, orderID: String, in db: Database) throws -> (Int64, OrderLedgerEntry)? {
        let statement = try db.cachedStatement(sql: "SELECT id, ledger FROM orders WHERE provider = ? AND order_id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [provider, orderID]) else { return nil }
        return (row["id"], try decodeEntry(row))
    }

    static func decodeEntry(_ row: Row) throws -> OrderLedgerEntry {
        let id: Int64 = row["id"]
        let text: String = row["ledger"]
        do {
            return try OrderLedgerEntry(json: try JSONParser().parse(text))
        } catch {
            throw SQLiteEventLogError.corruptRow(table: "orders", key: String(id), reason: "\(error)")
        }
    }

    /// Writes `entry` to its row (`rowID`), or inserts the row when there is
    /// none yet (one statement either way). Returns the row id.
    @discardableResult
    static func save(_ entry: OrderLedgerEntry, rowID: Int64?, now: Int64, in db: Database) throws -> Int64 {
        let columns: [(any DatabaseValueConvertible)?] = [
            entry.state.rawValue, entry.amount?.text, entry.currency?.code, entry.expectedAmount?.text, entry.expectedCurrency?.code,
            entry.firstSeenAt?.millisecondsSinceEpoch, entry.lastSeenAt?.millisecondsSinceEpoch, entry.lastChangeEventID?.rawValue,
            entry.counts.events, entry.counts.mismatches, entry.json.rendered(), now,
        ]
        guard let rowID else {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO orders (state, amount, currency, expected_amount, expected_currency, first_seen_ms, last_seen_ms, last_event_id,
                                    event_count, mismatch_count, ledger, updated_at_ms, provider, order_id, created_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try insert.execute(arguments: StatementArguments(columns + [entry.provider, entry.orderID, now]))
            return db.lastInsertedRowID
        }
        let update = try db.cachedStatement(sql: """
            UPDATE orders SET state = ?, amount = ?, currency = ?, expected_amount = ?, expected_currency = ?, first_seen_ms = ?,
                last_seen_ms = ?, last_event_id = ?, event_count = ?, mismatch_count = ?, ledger = ?, updated_at_ms = ?
            WHERE id = ?
            """)
        try update.execute(arguments: StatementArguments(columns + [rowID]))
        return rowID
    }

    /// Inserts one pending delivery per target that admits the placement.
    /// A `per_order` target's delivery joins its order's chain: parked
    /// (no due time) behind an unfinished one, else due now.
    static func insertDeliveries(eventID: EventID, targets: [DeliveryTarget], slot: OrderSlot?, now: Int64, in db: Database) throws -> Int {
        var count = 0
        for target in DeliveryTarget.admitted(targets, for: slot?.placement) {
            var orderRef: Int64?
            var orderSeq: Int64?
            var due: Int64? = now
            if target.perOrder, let slot {
                orderRef = slot.rowID
                orderSeq = slot.placement.sequence
                let busy = try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM deliveries WHERE order_ref = ? AND endpoint = ? AND state IN ('pending', 'in_flight'))
                    """), arguments: [slot.rowID, target.endpoint]) ?? false
                if busy { due = nil }
            }
            try db.cachedStatement(sql: """
                INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms, order_ref, order_seq)
                VALUES (?, ?, 'pending', 0, ?, ?, ?, ?, ?)
                """).execute(arguments: [eventID.rawValue, target.endpoint, due, now, now, orderRef, orderSeq])
            count += 1
        }
        return count
    }

    /// After delivery `id` finished (succeeded or dead), makes the next
    /// parked delivery of its chain due now.
    static func releaseSuccessor(ofDelivery id: Int64, now: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE deliveries SET next_attempt_at_ms = ?, updated_at_ms = ?
            WHERE id = (
                SELECT n.id FROM deliveries c JOIN deliveries n ON n.order_ref = c.order_ref AND n.endpoint = c.endpoint
                WHERE c.id = ? AND c.order_ref IS NOT NULL AND n.state = 'pending' AND n.next_attempt_at_ms IS NULL
                ORDER BY n.order_seq, n.id LIMIT 1)
            """).execute(arguments: [now, now, id])
    }

    // MARK: OrderLog

    public func order(provider: String, orderID: String) async throws -> OrderLedgerEntry? {
        try await dbPool.read { db in try Self.fetchEntry(provider: provider, orderID: orderID, in: db)?.1 }
    }

    public func orders(matching query: OrderQuery) async throws -> [OrderListing] {
        guard query.limit > 0 else { return [] }
        return try await dbPool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let provider = query.provider { conditions.append("provider = ?"); arguments.append(provider) }
            if let state = query.state { conditions.append("state = ?"); arguments.append(state.rawValue) }
            if let mismatch = query.mismatch { conditions.append(mismatch ? "mismatch_count > 0" : "mismatch_count = 0") }
            if let before = query.before { conditions.append("id < ?"); arguments.append(before) }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(query.limit)
            return try Row.fetchAll(db, sql: "SELECT id, ledger FROM orders \(whereClause) ORDER BY id DESC LIMIT ?",
                                    arguments: StatementArguments(arguments)).map { row in
                OrderListing(cursor: row["id"], entry: try Self.decodeEntry(row))
            }
        }
    }

    public func orderStory(provider: String, orderID: String) async throws -> [OrderStoryItem] {
        try await dbPool.read { db in
            let events = try Self.orderEvents(provider: provider, orderID: orderID, in: db)
            var deliveries: [EventID: [DeliveryRecord]] = [:]
            for stored in events { deliveries[stored.event.id] = try Self.fetchDeliveries(db, eventID: stored.event.id) }
            return OrderStoryItem.story(current: events.map { ($0.event, $0.revision) },
                                        earlier: Dictionary(uniqueKeysWithValues: events.map { ($0.event.id, $0.earlier) }),
                                        deliveries: deliveries)
        }
    }

    public func registerOrder(provider: String, orderID: String, amount: DecimalAmount, currency: CurrencyCode,
                              now: Timestamp) async throws -> (OrderLedgerEntry, OrderRegistration) {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        let nowMS = now.millisecondsSinceEpoch
        return try await dbPool.write { db in
            let found = try Self.fetchEntry(provider: provider, orderID: orderID, in: db)
            var entry = found?.1 ?? OrderLedgerEntry(provider: provider, orderID: orderID)
            let registration = try OrderLedger.register(amount: amount, currency: currency, at: now, in: &entry)
            try Self.save(entry, rowID: found?.0, now: nowMS, in: db)
            return (entry, registration)
        }
    }
}

/// An event's placement and the ledger row it was placed in.
struct OrderSlot: Sendable {
    var placement: OrderPlacement
    var rowID: Int64
    /// The order after the placement.
    var entry: OrderLedgerEntry
}
