import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// Writes a batch of ingest records in one transaction: the commit step of
/// the PostgreSQL log's group commit. Each step is one statement over arrays
/// (`unnest`), so a batch costs the same few round trips whatever its size:
/// look up the dedup keys stored already, lock the ledger rows of the
/// batch's orders, place the events (`OrderLedger`, in record order), insert
/// the events with their placed envelopes, write the entries back, then the
/// raw requests, the deliveries the placements admit, and the status checks
/// the records ask for (`PostgresStatusChecks.schedule`).
///
/// Invariants: a record whose `(provider, dedupKey)` is stored already, by
/// another process or earlier in this batch, writes nothing and yields
/// `.duplicate(of:)` the stored id; the ledger counts exactly the events the
/// transaction stores (a placed event that another process's commit turned
/// into a duplicate fails the transaction, and `PostgresBatch.isolating`
/// writes the batch again); results are in record order; statistics change
/// only after a commit.
enum PostgresAppendBatch {
    /// A dedup key as the database compares it (`postgresText`).
    private struct DedupKey: Hashable, Comparable {
        var provider: String
        var key: String

        init(provider: String, key: String) {
            self.provider = provider.postgresText
            self.key = key.postgresText
        }

        init?(_ record: IngestRecord) {
            guard let key = record.dedupKey else { return nil }
            self.init(provider: record.event.data.provider, key: key)
        }

        static func < (a: DedupKey, b: DedupKey) -> Bool { (a.provider, a.key) < (b.provider, b.key) }
    }

    static func write(_ records: [IngestRecord], now timestamp: Timestamp, client: PostgresClient, logger: Logger,
                      statistics: AppendStatistics) async throws -> [Result<AppendOutcome, any Error>] {
        let now = timestamp.millisecondsSinceEpoch
        return await PostgresBatch.isolating(records) { records in
            let outcomes = try await client.withTransaction(logger: logger) { connection in
                try await insert(records, now: now, on: connection, logger: logger)
            }
            statistics.recordCommit(stored: outcomes.count(where: { if case .stored = $0 { true } else { false } }))
            return outcomes
        }
    }

    /// Stores `records` in the open transaction; one outcome per record, in
    /// record order. Also how a status check's completion stores the
    /// provider's answer (its order row locked already, which is no change
    /// for the lock taken here).
    static func insert(_ records: [IngestRecord], now: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [AppendOutcome] {
        // Within the batch, the first record of a dedup key leads; later ones follow it.
        var leader = [Int?](repeating: nil, count: records.count)
        var firstIndex: [DedupKey: Int] = [:]
        for (index, record) in records.enumerated() {
            guard let dedup = DedupKey(record) else { continue }
            if let first = firstIndex[dedup] { leader[index] = first } else { firstIndex[dedup] = index }
        }
        let leaders = records.indices.filter { leader[$0] == nil }

        // Leaders whose key is stored already are duplicates: they are not placed.
        var existing = try await storedIDs(of: leaders.compactMap { DedupKey(records[$0]) }, on: connection, logger: logger)
        let fresh = leaders.filter { index in DedupKey(records[index]).map { existing[$0] == nil } ?? true }

        // Lock the ledger rows, then place in record order: a batch may hold several events of one order.
        var ledger = try await PostgresOrderLedger.lock(
            fresh.compactMap { index in
                let data = records[index].event.data
                return data.orderID.flatMap { $0.isEmpty ? nil : (data.provider, $0) }
            }, now: now, on: connection, logger: logger)
        var placed: [Int: (event: Event, slot: PostgresOrderSlot?)] = [:]
        for index in fresh {
            var event = records[index].event
            let slot = try PostgresOrderLedger.place(&event, in: &ledger)
            placed[index] = (event, slot)
        }

        // Keys are inserted in one global order, so two processes inserting
        // overlapping keys wait for each other instead of deadlocking.
        let insertionOrder = fresh.sorted { a, b in
            switch (DedupKey(records[a]), DedupKey(records[b])) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            default: return false
            }
        }
        var events = InsertEvents()
        for index in insertionOrder { events.append(placed[index]!.event, dedupKey: records[index].dedupKey) }
        let stored = Set(try await connection.rows(events, logger: logger))

        // A key another process committed since the lookup: the record is a duplicate after all.
        var raced: [DedupKey] = []
        for index in fresh where !stored.contains(records[index].event.id.rawValue) {
            guard let dedup = DedupKey(records[index]) else { continue }
            if placed[index]?.slot != nil {
                // Its order already counts it: roll back, the batch is written again.
                throw PostgresEventLogError.database("event \(records[index].event.id) was placed in its order but its dedup key was taken meanwhile")
            }
            raced.append(dedup)
        }
        if !raced.isEmpty {
            existing.merge(try await storedIDs(of: raced, on: connection, logger: logger)) { first, _ in first }
        }

        try await PostgresOrderLedger.save(ledger.values, now: now, on: connection, logger: logger)
        var raws = RawRequestColumns()
        var planned: [PlannedDelivery] = []
        var checked: [PostgresStatusChecks.ScheduledEvent] = []
        for index in fresh where stored.contains(records[index].event.id.rawValue) {
            let record = records[index]
            let raw = record.raw
            raws.append(eventID: record.event.id.rawValue, method: raw.method, path: raw.path, query: raw.query,
                        headers: HeaderCoding.render(raw.headers), body: raw.body, remoteAddress: raw.remoteAddress,
                        receivedAt: raw.receivedAt.millisecondsSinceEpoch)
            planned += PostgresOrderLedger.plan(eventID: record.event.id, targets: record.targets, slot: placed[index]?.slot)
            if let request = record.statusCheck, let (event, slot) = placed[index] {
                checked.append(PostgresStatusChecks.ScheduledEvent(event: event, slot: slot, request: request))
            }
        }
        _ = try await connection.insert(InsertRows(raws), logger: logger)
        let deliveries = try await PostgresOrderLedger.insertDeliveries(planned, now: now, on: connection, logger: logger)
        if deliveries.due > 0 {
            try await connection.query("SELECT pg_notify(\(PostgresEventLog.deliveriesChannel), '')", logger: logger)
        }
        // After the order rows (locked above), the status-check rows: the lock order every writer keeps.
        try await PostgresStatusChecks.schedule(after: checked, now: now, on: connection, logger: logger)

        var deliveryCounts: [String: Int] = [:]
        for delivery in planned { deliveryCounts[delivery.eventID, default: 0] += 1 }
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(records.count)
        for (index, record) in records.enumerated() {
            if let first = leader[index] {
                outcomes.append(.duplicate(of: outcomes[first].eventID))
            } else if stored.contains(record.event.id.rawValue) {
                let slot = placed[index]?.slot
                outcomes.append(.stored(record.event.id, order: slot?.placement, deliveries: deliveryCounts[record.event.id.rawValue] ?? 0))
            } else if let dedup = DedupKey(record), let id = existing[dedup] {
                outcomes.append(.duplicate(of: id))
            } else {
                // Conflicted, yet the row is gone (pruned in between): fail, the provider retries.
                throw PostgresEventLogError.database("event \(record.event.id) was neither stored nor found as a duplicate")
            }
        }
        return outcomes
    }

    /// The stored event ids of `keys` (those stored).
    private static func storedIDs(of keys: [DedupKey], on connection: PostgresConnection, logger: Logger) async throws -> [DedupKey: EventID] {
        guard !keys.isEmpty else { return [:] }
        var lookup = ExistingIDs()
        for key in keys {
            lookup.providers.append(key.provider)
            lookup.keys.append(key.key)
        }
        var found: [DedupKey: EventID] = [:]
        for (provider, key, id) in try await connection.rows(lookup, logger: logger) {
            guard let eventID = EventID(id) else { throw PostgresEventLogError.corruptRow(table: "events", key: id, reason: "not an event id") }
            found[DedupKey(provider: provider, key: key)] = eventID
        }
        return found
    }
}

/// `INSERT … ON CONFLICT DO NOTHING RETURNING id` for a batch of events.
private struct InsertEvents: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO events (\(EventColumns.insertColumns))
        \(EventColumns.select)
        ON CONFLICT ON CONSTRAINT events_dedup DO NOTHING
        RETURNING id
        """
    typealias Row = String
    var columns = EventColumns()

    /// - Parameter event: as placed (its envelope carries `data.order`).
    mutating func append(_ event: Event, dedupKey: String?) {
        columns.append(id: event.id.rawValue, type: event.type.rawValue, provider: event.data.provider, route: event.data.route,
                       channel: event.data.channel.rawValue, verified: event.data.verified, orderID: event.data.orderID,
                       receivedAt: event.data.receivedAt.millisecondsSinceEpoch, dedupKey: dedupKey, envelope: event.envelopeBytes,
                       revision: 1)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 13)
        columns.bind(&b)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> String { try row.decode(String.self) }
}

/// The stored ids of `(provider, dedup_key)` pairs.
private struct ExistingIDs: PostgresPreparedStatement {
    static let sql = """
        SELECT e.provider, e.dedup_key, e.id FROM events e
        JOIN unnest($1::text[], $2::text[]) AS k(provider, dedup_key) ON e.provider = k.provider AND e.dedup_key = k.dedup_key
        """
    typealias Row = (String, String, String)
    var providers: [String] = []
    var keys: [String] = []

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 2)
        b.append(providers); b.append(keys)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> (String, String, String) { try row.decode((String, String, String).self) }
}
