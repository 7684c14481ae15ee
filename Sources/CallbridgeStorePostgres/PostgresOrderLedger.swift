import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// The order ledger inside PostgreSQL write transactions: locking ledger
/// rows, placing events with `OrderLedger`, writing the entries back, and
/// the per-order delivery chains. The same rules as the SQLite log
/// (`SQLiteEventLog+Orders.swift`); what differs is that several processes
/// write at once, so every entry is read under a row lock.
///
/// Invariants:
/// - an entry is only read for a change with its row locked (`lock`), and
///   written back (`save`) in the same transaction, so two processes placing
///   events of one order number them one after the other, without gap;
/// - `lock` takes every row of a transaction in one statement, in one global
///   order (provider, order id), so transactions locking several orders wait
///   for each other instead of deadlocking;
/// - whoever inserts a delivery into a chain holds the chain's order row
///   lock (ingest, a status check storing its answer) and so does whoever
///   releases a chain's successor (completion): a delivery parked behind an
///   active one is always seen by the completion of that active one;
/// - a transaction that locks an order's `status_checks` row as well takes
///   the order rows first (`PostgresStatusChecks`), so the two kinds of
///   lock never wait for each other in a cycle.
enum PostgresOrderLedger {
    /// Locks the ledger rows of the orders `names` (provider, order id as
    /// given) and returns them by key, creating an empty entry for an order
    /// not seen yet.
    static func lock(_ names: [(provider: String, orderID: String)], now: Int64, on connection: PostgresConnection,
                     logger: Logger) async throws -> [PostgresOrderKey: LockedOrder] {
        var statement = LockOrders(now: now)
        var seen = Set<PostgresOrderKey>()
        for name in names where seen.insert(PostgresOrderKey(provider: name.provider, orderID: name.orderID)).inserted {
            statement.append(provider: name.provider, orderID: name.orderID)
        }
        guard !seen.isEmpty else { return [:] }
        var locked: [PostgresOrderKey: LockedOrder] = [:]
        for (id, provider, orderID, ledger) in try await connection.rows(statement, logger: logger) {
            locked[PostgresOrderKey(provider: provider, orderID: orderID)] = LockedOrder(rowID: id, entry: try decodeEntry(id: id, ledger: ledger))
        }
        guard locked.count == seen.count else {
            throw PostgresEventLogError.database("locked \(locked.count) of \(seen.count) order rows")
        }
        return locked
    }

    /// Places `event` in its order's story (setting `event.data.order`) and
    /// applies it to the locked entry. Nil, and `data.order` cleared, without
    /// an order id.
    static func place(_ event: inout Event, in ledger: inout [PostgresOrderKey: LockedOrder]) throws -> PostgresOrderSlot? {
        guard let key = PostgresOrderKey(event) else {
            event.data.order = nil
            return nil
        }
        guard var locked = ledger[key] else {
            throw PostgresEventLogError.database("the order row of \(event.id) was not locked before placing it")
        }
        let placement = OrderLedger.place(event, in: &locked.entry)
        ledger[key] = locked
        event.data.order = placement
        return PostgresOrderSlot(placement: placement, rowID: locked.rowID, entry: locked.entry)
    }

    /// Places a re-normalized `event` (its earlier form `previous` kept as a
    /// revision already) by rebuilding its order's entry from the current
    /// forms of the order's events (`OrderLedger.rebuild`), the same as the
    /// SQLite log; an order the event left is rebuilt without it. The rows
    /// are locked in (provider, order id) order.
    static func replace(_ event: inout Event, previous: Event?, now: Int64, on connection: PostgresConnection,
                        logger: Logger) async throws -> PostgresOrderSlot? {
        var names: [(provider: String, orderID: String)] = []
        if let previous, let oldID = previous.data.orderID, !oldID.isEmpty { names.append((previous.data.provider, oldID)) }
        if let orderID = event.data.orderID, !orderID.isEmpty { names.append((event.data.provider, orderID)) }
        var ledger = try await lock(names, now: now, on: connection, logger: logger)
        let target = PostgresOrderKey(event)
        var slot: PostgresOrderSlot?
        for (key, locked) in ledger {
            var ids: [String] = []
            var currents: [Event] = []
            for try await (id, envelope) in try await connection.query("""
                SELECT id, envelope FROM events WHERE provider = \(key.provider) AND order_id = \(key.orderID) AND id <> \(event.id.rawValue)
                """, logger: logger).decode((String, ByteBuffer).self) {
                currents.append(try PostgresEventLog.decodeEvent(id: id, envelope: envelope))
                ids.append(id)
            }
            let form: Event? = key == target ? event : nil
            if form != nil { ids.append(event.id.rawValue) }
            var earlier: [String: [Event]] = [:]
            if !ids.isEmpty {
                for try await (id, envelope) in try await connection.query("""
                    SELECT event_id, envelope FROM event_revisions WHERE event_id = ANY(\(ids)::text[]) ORDER BY event_id, revision
                    """, logger: logger).decode((String, ByteBuffer).self) {
                    earlier[id, default: []].append(try PostgresEventLog.decodeEvent(id: id, envelope: envelope))
                }
            }
            var histories = currents.map { OrderEventHistory(current: $0, earlier: earlier[$0.id.rawValue] ?? []) }
            if let form { histories.append(OrderEventHistory(current: form, earlier: earlier[form.id.rawValue] ?? [])) }
            let (entry, placement) = OrderLedger.rebuild(locked.entry, histories: histories, revised: form?.id)
            ledger[key] = LockedOrder(rowID: locked.rowID, entry: entry)
            if let placement { slot = PostgresOrderSlot(placement: placement, rowID: locked.rowID, entry: entry) }
        }
        try await save(ledger.values, now: now, on: connection, logger: logger)
        event.data.order = slot?.placement
        return slot
    }

    /// Writes the entries back to their (locked) rows, in one statement.
    static func save(_ orders: some Sequence<LockedOrder>, now: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        var statement = SaveOrders(now: now)
        for order in orders { statement.append(order) }
        guard !statement.ids.isEmpty else { return }
        _ = try await connection.rows(statement, logger: logger)
    }

    /// The entry a `ledger` column holds.
    static func decodeEntry(id: Int64, ledger: String) throws -> OrderLedgerEntry {
        do {
            return try OrderLedgerEntry(json: try JSONParser().parse(ledger))
        } catch {
            throw PostgresEventLogError.corruptRow(table: "orders", key: String(id), reason: "\(error)")
        }
    }

    /// The deliveries `targets` get for an event placed as `slot`: one per
    /// target admitting the placement, a `per_order` one in its order's chain.
    static func plan(eventID: EventID, targets: [DeliveryTarget], slot: PostgresOrderSlot?) -> [PlannedDelivery] {
        DeliveryTarget.admitted(targets, for: slot?.placement).map { target in
            let chain = target.perOrder ? slot.map { (orderRef: $0.rowID, sequence: $0.placement.sequence) } : nil
            return PlannedDelivery(eventID: eventID.rawValue, endpoint: target.endpoint, chain: chain)
        }
    }

    /// Inserts `planned` (in their order) as pending deliveries. A chained one
    /// is parked (no due time) when its chain already holds a pending or
    /// in-flight delivery, or an earlier one of `planned`; otherwise it is
    /// due now. The caller holds the chains' order row locks. Returns how many
    /// were inserted and how many of them are due.
    static func insertDeliveries(_ planned: [PlannedDelivery], now: Int64, on connection: PostgresConnection,
                                 logger: Logger) async throws -> (inserted: Int, due: Int) {
        guard !planned.isEmpty else { return (0, 0) }
        var busy = Set<ChainKey>()
        var probe = BusyChains()
        for key in Set(planned.compactMap(\.chainKey)) {
            probe.orderRefs.append(key.orderRef)
            probe.endpoints.append(key.endpoint)
        }
        if !probe.orderRefs.isEmpty {
            for (orderRef, endpoint) in try await connection.rows(probe, logger: logger) {
                busy.insert(ChainKey(orderRef: orderRef, endpoint: endpoint))
            }
        }
        var insert = InsertDeliveries(now: now)
        var due = 0
        for delivery in planned {
            var parked = false
            if let key = delivery.chainKey {
                parked = !busy.insert(key).inserted
            }
            if !parked { due += 1 }
            insert.append(eventID: delivery.eventID, endpoint: delivery.endpoint, chain: delivery.chain, parked: parked)
        }
        let inserted = try await connection.rows(insert, logger: logger).count
        return (inserted, due)
    }

    /// After the deliveries `finished` ended (succeeded or dead, at `now`),
    /// makes the next parked delivery of each one's chain due at that time.
    /// Locks the chains' order rows first, in (provider, order id) order, the
    /// order `lock` takes them in (two orders in another order could
    /// deadlock an ingest batch against a completion batch): an ingest inserting a
    /// parked delivery holds that lock, so once it is granted every parked
    /// delivery is visible to the statement that follows (read committed).
    /// Returns how many deliveries became due.
    static func releaseSuccessors(of finished: [(deliveryID: Int64, orderRef: Int64, now: Int64)], on connection: PostgresConnection,
                                  logger: Logger) async throws -> Int {
        guard !finished.isEmpty else { return 0 }
        let refs = Array(Set(finished.map(\.orderRef)))
        for try await _ in try await connection.query("SELECT 1 FROM orders WHERE id = ANY(\(refs)::int8[]) ORDER BY provider, order_id FOR UPDATE",
                                                      logger: logger) {}
        let statement = ReleaseSuccessors(deliveryIDs: finished.map(\.deliveryID), now: finished.map(\.now))
        return try await connection.rows(statement, logger: logger).count
    }
}

/// An order's ledger key as PostgreSQL compares it: provider and order id
/// as stored (`postgresText`), compared byte for byte, so keys built from an
/// event and from a row read back are equal.
struct PostgresOrderKey: Hashable, Sendable {
    var provider: String
    var orderID: String

    init(provider: String, orderID: String) {
        self.provider = provider.postgresText
        self.orderID = orderID.postgresText
    }

    /// Byte for byte, as PostgreSQL compares text: Swift's `String` equality
    /// would merge canonically equivalent spellings (`é` and `e` + U+0301)
    /// that are two orders in the database.
    static func == (a: PostgresOrderKey, b: PostgresOrderKey) -> Bool {
        a.provider.utf8.elementsEqual(b.provider.utf8) && a.orderID.utf8.elementsEqual(b.orderID.utf8)
    }

    func hash(into hasher: inout Hasher) {
        for byte in provider.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // never a UTF-8 byte: separates the two fields
        for byte in orderID.utf8 { hasher.combine(byte) }
    }

    /// The key of `event`'s order; nil without a (non-empty) order id.
    init?(_ event: Event) {
        guard let orderID = event.data.orderID, !orderID.isEmpty else { return nil }
        self.init(provider: event.data.provider, orderID: orderID)
    }
}

/// A ledger row locked by the current transaction, with its entry as read
/// (and then changed in memory until `PostgresOrderLedger.save`).
struct LockedOrder: Sendable {
    var rowID: Int64
    var entry: OrderLedgerEntry
}

/// An event's placement and the ledger row it was placed in (what a
/// `per_order` delivery's `order_ref` and `order_seq` are made of), with the
/// order's entry right after the placement (what a status check decides on).
struct PostgresOrderSlot: Sendable {
    var placement: OrderPlacement
    var rowID: Int64
    var entry: OrderLedgerEntry
}

/// One delivery an append (or a status check's answer) is about to insert.
struct PlannedDelivery: Sendable {
    var eventID: String
    var endpoint: String
    /// The order row and placement sequence, for a `per_order` target.
    var chain: (orderRef: Int64, sequence: Int64)?

    var chainKey: ChainKey? { chain.map { ChainKey(orderRef: $0.orderRef, endpoint: endpoint) } }
}

/// One per-order chain: the deliveries of one order to one endpoint.
struct ChainKey: Hashable, Sendable {
    var orderRef: Int64
    var endpoint: String
}

/// Locks (creating when missing) the ledger rows of a set of orders, in
/// (provider, order id) order, and returns each row's id, key and entry.
/// A new row holds an empty entry; `DO UPDATE` changes nothing but takes
/// the row lock of an existing one.
private struct LockOrders: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO orders (provider, order_id, state, event_count, mismatch_count, ledger, created_at_ms, updated_at_ms)
        SELECT provider, order_id, $4, 0, 0, ledger, $5, $5
        FROM unnest($1::text[], $2::text[], $3::text[]) AS k(provider, order_id, ledger)
        ORDER BY provider, order_id
        ON CONFLICT ON CONSTRAINT orders_key DO UPDATE SET provider = orders.provider
        RETURNING id, provider, order_id, ledger
        """
    typealias Row = (Int64, String, String, String)
    var providers: [String] = []
    var orderIDs: [String] = []
    var ledgers: [String] = []
    let now: Int64

    init(now: Int64) { self.now = now }

    /// - Parameters: as the event names them; the row's key columns get
    ///   `postgresText`, the empty entry keeps them exactly (JSON escapes U+0000).
    mutating func append(provider: String, orderID: String) {
        providers.append(provider.postgresText)
        orderIDs.append(orderID.postgresText)
        ledgers.append(OrderLedgerEntry(provider: provider, orderID: orderID).json.rendered().postgresText)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 5)
        b.append(providers); b.append(orderIDs); b.append(ledgers); b.append(OrderState.unknown.rawValue); b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String, String, String).self) }
}

/// Writes entries back to their rows: the `ledger` column and the copies of
/// its fields that filters and operators read.
private struct SaveOrders: PostgresPreparedStatement {
    static let sql = """
        UPDATE orders o
        SET state = u.state, amount = CASE WHEN u.amount_null THEN NULL ELSE u.amount END,
            currency = CASE WHEN u.currency_null THEN NULL ELSE u.currency END,
            expected_amount = CASE WHEN u.expected_amount_null THEN NULL ELSE u.expected_amount END,
            expected_currency = CASE WHEN u.expected_currency_null THEN NULL ELSE u.expected_currency END,
            first_seen_ms = CASE WHEN u.first_null THEN NULL ELSE u.first_seen_ms END,
            last_seen_ms = CASE WHEN u.last_null THEN NULL ELSE u.last_seen_ms END,
            last_event_id = CASE WHEN u.event_null THEN NULL ELSE u.last_event_id END,
            event_count = u.event_count, mismatch_count = u.mismatch_count, ledger = u.ledger, updated_at_ms = $20
        FROM unnest($1::int8[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::bool[], $7::text[], $8::bool[], $9::text[], $10::bool[],
                    $11::int8[], $12::bool[], $13::int8[], $14::bool[], $15::text[], $16::bool[], $17::int8[], $18::int8[], $19::text[])
             AS u(id, state, amount, amount_null, currency, currency_null, expected_amount, expected_amount_null, expected_currency,
                  expected_currency_null, first_seen_ms, first_null, last_seen_ms, last_null, last_event_id, event_null, event_count,
                  mismatch_count, ledger)
        WHERE o.id = u.id
        """
    typealias Row = Void
    var ids: [Int64] = []
    var states: [String] = []
    var amounts = NullableColumn<String>(placeholder: "")
    var currencies = NullableColumn<String>(placeholder: "")
    var expectedAmounts = NullableColumn<String>(placeholder: "")
    var expectedCurrencies = NullableColumn<String>(placeholder: "")
    var firstSeen = NullableColumn<Int64>(placeholder: 0)
    var lastSeen = NullableColumn<Int64>(placeholder: 0)
    var lastEventIDs = NullableColumn<String>(placeholder: "")
    var eventCounts: [Int64] = []
    var mismatchCounts: [Int64] = []
    var ledgers: [String] = []
    let now: Int64

    init(now: Int64) { self.now = now }

    mutating func append(_ order: LockedOrder) {
        let entry = order.entry
        ids.append(order.rowID)
        states.append(entry.state.rawValue)
        amounts.append(entry.amount?.text.postgresText)
        currencies.append(entry.currency?.code.postgresText)
        expectedAmounts.append(entry.expectedAmount?.text.postgresText)
        expectedCurrencies.append(entry.expectedCurrency?.code.postgresText)
        firstSeen.append(entry.firstSeenAt?.millisecondsSinceEpoch)
        lastSeen.append(entry.lastSeenAt?.millisecondsSinceEpoch)
        lastEventIDs.append(entry.lastChangeEventID?.rawValue)
        eventCounts.append(entry.counts.events)
        mismatchCounts.append(entry.counts.mismatches)
        ledgers.append(entry.json.rendered().postgresText)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 20)
        b.append(ids); b.append(states)
        b.append(amounts.values); b.append(amounts.isNull); b.append(currencies.values); b.append(currencies.isNull)
        b.append(expectedAmounts.values); b.append(expectedAmounts.isNull); b.append(expectedCurrencies.values); b.append(expectedCurrencies.isNull)
        b.append(firstSeen.values); b.append(firstSeen.isNull); b.append(lastSeen.values); b.append(lastSeen.isNull)
        b.append(lastEventIDs.values); b.append(lastEventIDs.isNull)
        b.append(eventCounts); b.append(mismatchCounts); b.append(ledgers); b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// The chains among a set of (order row, endpoint) pairs that hold a pending
/// or in-flight delivery (parked ones included).
private struct BusyChains: PostgresPreparedStatement {
    static let sql = """
        SELECT DISTINCT d.order_ref, d.endpoint
        FROM deliveries d JOIN unnest($1::int8[], $2::text[]) AS k(order_ref, endpoint)
             ON d.order_ref = k.order_ref AND d.endpoint = k.endpoint
        WHERE d.state IN ('pending', 'in_flight')
        """
    typealias Row = (Int64, String)
    var orderRefs: [Int64] = []
    var endpoints: [String] = []

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(orderRefs); b.append(endpoints)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, String).self) }
}

/// Makes the lowest-sequence parked delivery of each finished delivery's
/// chain due when that one finished; returns the ids it released.
private struct ReleaseSuccessors: PostgresPreparedStatement {
    static let sql = """
        WITH chains AS (
            SELECT d.order_ref, d.endpoint, max(f.now) AS now
            FROM deliveries d JOIN unnest($1::int8[], $2::int8[]) AS f(id, now) ON d.id = f.id
            WHERE d.order_ref IS NOT NULL
            GROUP BY d.order_ref, d.endpoint
        ), successors AS (
            SELECT (SELECT n.id FROM deliveries n
                    WHERE n.order_ref = c.order_ref AND n.endpoint = c.endpoint AND n.state = 'pending' AND n.next_attempt_at_ms IS NULL
                    ORDER BY n.order_seq, n.id LIMIT 1) AS id, c.now
            FROM chains c
        )
        UPDATE deliveries d SET next_attempt_at_ms = s.now, updated_at_ms = s.now
        FROM successors s
        WHERE d.id = s.id
        RETURNING d.id
        """
    typealias Row = Int64
    let deliveryIDs: [Int64]
    let now: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(deliveryIDs); b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

/// Pending deliveries, one per (event, endpoint) pair given: due now, or
/// parked (no due time) behind another delivery of their chain. A chained
/// one carries its order row and placement sequence. Returns the new ids.
struct InsertDeliveries: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms, order_ref, order_seq)
        SELECT event_id, endpoint, 'pending', 0, CASE WHEN parked THEN NULL ELSE $7 END, $7, $7,
               CASE WHEN unchained THEN NULL ELSE order_ref END, CASE WHEN unchained THEN NULL ELSE order_seq END
        FROM unnest($1::text[], $2::text[], $3::bool[], $4::int8[], $5::int8[], $6::bool[])
             AS d(event_id, endpoint, parked, order_ref, order_seq, unchained)
        RETURNING id
        """
    typealias Row = Int64
    private(set) var eventIDs: [String] = []
    private var endpoints: [String] = []
    private var parked: [Bool] = []
    private var orderRefs: [Int64] = []
    private var orderSeqs: [Int64] = []
    private var unchained: [Bool] = []
    let now: Int64

    init(now: Int64) { self.now = now }

    /// A delivery due now, outside any chain (replays).
    mutating func append(eventID: String, endpoint: String) {
        append(eventID: eventID, endpoint: endpoint, chain: nil, parked: false)
    }

    mutating func append(eventID: String, endpoint: String, chain: (orderRef: Int64, sequence: Int64)?, parked: Bool) {
        eventIDs.append(eventID)
        endpoints.append(endpoint)
        self.parked.append(parked)
        orderRefs.append(chain?.orderRef ?? 0)
        orderSeqs.append(chain?.sequence ?? 0)
        unchained.append(chain == nil)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 7)
        b.append(eventIDs); b.append(endpoints); b.append(parked); b.append(orderRefs); b.append(orderSeqs); b.append(unchained); b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}
