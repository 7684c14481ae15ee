import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

/// `OrderLog` on PostgreSQL: reading the ledger and an order's story, and
/// registering what the merchant created. Placing events happens in the
/// transactions that store them (`PostgresAppendBatch`, `writeRevision`).
extension PostgresEventLog {
    public func order(provider: String, orderID: String) async throws -> OrderLedgerEntry? {
        try await database("read an order") {
            try await client.rows("""
                SELECT id, ledger FROM orders WHERE provider = \(provider.postgresText) AND order_id = \(orderID.postgresText)
                """, logger: logger) { row in
                let (id, ledger) = try row.decode((Int64, String).self)
                return try PostgresOrderLedger.decodeEntry(id: id, ledger: ledger)
            }.first
        }
    }

    public func orders(matching query: OrderQuery) async throws -> [OrderListing] {
        guard query.limit > 0 else { return [] }
        var conditions = PostgresConditions()
        if let provider = query.provider { conditions.add("provider = ", provider.postgresText) }
        if let state = query.state { conditions.add("state = ", state.rawValue) }
        if let mismatch = query.mismatch { conditions.add(raw: mismatch ? "mismatch_count > 0" : "mismatch_count = 0") }
        if let before = query.before { conditions.add("id < ", before) }
        let sql = "SELECT id, ledger FROM orders \(conditions.whereClause) ORDER BY id DESC LIMIT \(conditions.bind(Int64(query.limit)))"
        return try await database("list orders") {
            try await client.rows(PostgresQuery(unsafeSQL: sql, binds: conditions.binds), logger: logger) { row in
                let (id, ledger) = try row.decode((Int64, String).self)
                return OrderListing(cursor: id, entry: try PostgresOrderLedger.decodeEntry(id: id, ledger: ledger))
            }
        }
    }

    public func orderStory(provider: String, orderID: String) async throws -> [OrderStoryItem] {
        try await database("read an order's story") {
            let current = try await client.rows("""
                SELECT id, envelope, revision FROM events WHERE provider = \(provider.postgresText) AND order_id = \(orderID.postgresText)
                ORDER BY id
                """, logger: logger) { row in
                let (id, envelope, revision) = try row.decode((String, ByteBuffer, Int).self)
                return (event: try Self.decodeEvent(id: id, envelope: envelope), revision: revision)
            }
            let ids = current.map(\.event.id)
            let deliveries = try await fetchDeliveries(eventIDs: ids)
            var earlier: [EventID: [EventRevision]] = [:]
            if !ids.isEmpty {
                let rows = try await client.rows("""
                    SELECT event_id, revision, envelope, replaced_at_ms FROM event_revisions
                    WHERE event_id = ANY(\(ids.map(\.rawValue))::text[]) ORDER BY event_id, revision
                    """, logger: logger) { row in
                    let (id, revision, envelope, replacedAt) = try row.decode((String, Int, ByteBuffer, Int64).self)
                    let event = try Self.decodeEvent(id: id, envelope: envelope)
                    return EventRevision(revision: revision, event: event, replacedAt: Timestamp(millisecondsSinceEpoch: replacedAt))
                }
                earlier = Dictionary(grouping: rows, by: \.event.id)
            }
            return OrderStoryItem.story(current: current, earlier: earlier, deliveries: deliveries)
        }
    }

    /// Registers under the order's row lock. A refused registration throws
    /// `OrderRegistrationError` itself (not wrapped), and changes nothing: a
    /// registration is only refused for an entry that existed already.
    public func registerOrder(provider: String, orderID: String, amount: DecimalAmount, currency: CurrencyCode,
                              now: Timestamp) async throws -> (OrderLedgerEntry, OrderRegistration) {
        let nowMS = now.millisecondsSinceEpoch
        let result = try await database("register an order") {
            try await client.withTransaction(logger: logger) { [logger] connection -> Result<(OrderLedgerEntry, OrderRegistration), OrderRegistrationError> in
                var ledger = try await PostgresOrderLedger.lock([(provider, orderID)], now: nowMS, on: connection, logger: logger)
                let key = PostgresOrderKey(provider: provider, orderID: orderID)
                guard var locked = ledger[key] else { throw PostgresEventLogError.database("the order row was not locked") }
                let registration: OrderRegistration
                do throws(OrderRegistrationError) {
                    registration = try OrderLedger.register(amount: amount, currency: currency, at: now, in: &locked.entry)
                } catch {
                    return .failure(error)
                }
                ledger[key] = locked
                try await PostgresOrderLedger.save(ledger.values, now: nowMS, on: connection, logger: logger)
                return .success((locked.entry, registration))
            }
        }
        return try result.get()
    }
}
