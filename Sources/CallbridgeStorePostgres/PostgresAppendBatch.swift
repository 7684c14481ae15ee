import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// Writes a batch of ingest records in one transaction: the commit step of
/// the PostgreSQL log's group commit. Four prepared statements, each over
/// arrays (`unnest`), so a batch costs the same few round trips whatever
/// its size.
///
/// Invariants: a record whose `(provider, dedupKey)` is stored already, by
/// another process or earlier in this batch, writes nothing and yields
/// `.duplicate(of:)` the stored id; results are in record order; statistics
/// change only after a commit.
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

    static func write(_ records: [IngestRecord], client: PostgresClient, logger: Logger,
                      statistics: AppendStatistics) async throws -> [Result<AppendOutcome, any Error>] {
        let now = AppendBatchWriter.currentTimestamp().millisecondsSinceEpoch
        return await PostgresBatch.isolating(records) { records in
            let outcomes = try await client.withTransaction(logger: logger) { connection in
                try await insert(records, now: now, on: connection, logger: logger)
            }
            statistics.recordCommit(stored: outcomes.count(where: { if case .stored = $0 { true } else { false } }))
            return outcomes
        }
    }

    private static func insert(_ records: [IngestRecord], now: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [AppendOutcome] {
        // Within the batch, the first record of a dedup key leads; later ones follow it.
        var leader = [Int?](repeating: nil, count: records.count)
        var firstIndex: [DedupKey: Int] = [:]
        for (index, record) in records.enumerated() {
            guard let dedup = DedupKey(record) else { continue }
            if let first = firstIndex[dedup] { leader[index] = first } else { firstIndex[dedup] = index }
        }
        let leaders = records.indices.filter { leader[$0] == nil }

        // Keys are inserted in one global order, so two processes inserting
        // overlapping keys wait for each other instead of deadlocking.
        let insertionOrder = leaders.sorted { a, b in
            switch (DedupKey(records[a]), DedupKey(records[b])) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            default: return false
            }
        }
        var events = InsertEvents()
        for index in insertionOrder { events.append(records[index]) }
        let stored = Set(try await connection.rows(events, logger: logger))

        // Leaders that conflicted: their key is stored; find the stored id.
        var conflicted = ExistingIDs()
        for index in leaders where !stored.contains(records[index].event.id.rawValue) {
            guard let dedup = DedupKey(records[index]) else { continue }
            conflicted.providers.append(dedup.provider)
            conflicted.keys.append(dedup.key)
        }
        var existing: [DedupKey: EventID] = [:]
        if !conflicted.keys.isEmpty {
            for (provider, key, id) in try await connection.rows(conflicted, logger: logger) {
                guard let eventID = EventID(id) else { throw PostgresEventLogError.corruptRow(table: "events", key: id, reason: "not an event id") }
                existing[DedupKey(provider: provider, key: key)] = eventID
            }
        }

        var raws = RawRequestColumns()
        var deliveries = InsertDeliveries(now: now)
        for index in leaders where stored.contains(records[index].event.id.rawValue) {
            let raw = records[index].raw
            raws.append(eventID: records[index].event.id.rawValue, method: raw.method, path: raw.path, query: raw.query,
                        headers: HeaderCoding.render(raw.headers), body: raw.body, remoteAddress: raw.remoteAddress,
                        receivedAt: raw.receivedAt.millisecondsSinceEpoch)
            var seen = Set<String>()
            for endpoint in records[index].endpoints where seen.insert(endpoint).inserted {
                deliveries.eventIDs.append(records[index].event.id.rawValue)
                deliveries.endpoints.append(endpoint)
            }
        }
        _ = try await connection.insert(InsertRows(raws), logger: logger)
        if !deliveries.eventIDs.isEmpty {
            _ = try await connection.rows(deliveries, logger: logger)
            try await connection.query("SELECT pg_notify(\(PostgresEventLog.deliveriesChannel), '')", logger: logger)
        }

        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(records.count)
        for (index, record) in records.enumerated() {
            if let first = leader[index] {
                outcomes.append(.duplicate(of: outcomes[first].eventID))
            } else if stored.contains(record.event.id.rawValue) {
                outcomes.append(.stored(record.event.id))
            } else if let dedup = DedupKey(record), let id = existing[dedup] {
                outcomes.append(.duplicate(of: id))
            } else {
                // Conflicted, yet the row is gone (pruned in between): fail, the provider retries.
                throw PostgresEventLogError.database("event \(record.event.id) was neither stored nor found as a duplicate")
            }
        }
        return outcomes
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

    mutating func append(_ record: IngestRecord) {
        let event = record.event
        columns.append(id: event.id.rawValue, type: event.type.rawValue, provider: event.data.provider, route: event.data.route,
                       channel: event.data.channel.rawValue, verified: event.data.verified, orderID: event.data.orderID,
                       receivedAt: event.data.receivedAt.millisecondsSinceEpoch, dedupKey: record.dedupKey, envelope: event.envelopeBytes,
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

/// One pending delivery, due now, per (event, endpoint) pair.
struct InsertDeliveries: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms)
        SELECT event_id, endpoint, 'pending', 0, $3, $3, $3 FROM unnest($1::text[], $2::text[]) AS d(event_id, endpoint)
        RETURNING id
        """
    typealias Row = Int64
    var eventIDs: [String] = []
    var endpoints: [String] = []
    let now: Int64

    init(now: Int64) { self.now = now }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 3)
        b.append(eventIDs); b.append(endpoints); b.append(now)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}
