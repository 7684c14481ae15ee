import CallbridgeModel
import CallbridgeStore
import Foundation
import GRDB
import Synchronization

/// Writes a batch of ingest records in one write transaction: the commit step
/// of the event log's group commit.
///
/// Invariants:
/// - each record runs inside its own savepoint: if it throws, only its own
///   writes are rolled back and the error is returned at its position;
/// - a record whose `(provider, dedupKey)` is already stored (including by an
///   earlier record of the same batch) writes nothing and yields
///   `.duplicate(of:)` the stored id;
/// - if SQLite aborts the whole transaction, or the commit fails, `write`
///   throws: nothing of the batch was stored;
/// - statistics are updated only after a successful commit.
package struct AppendBatchWriter: Sendable {
    let dbPool: DatabasePool
    /// The log's clock: the commit time of each batch (`created_at_ms`, and when new deliveries fall due).
    let clock: @Sendable () -> Timestamp
    let statistics = AppendStatistics()

    func write(_ records: [IngestRecord]) async throws -> [Result<AppendOutcome, any Error>] {
        let now = clock()
        let results = try await dbPool.write { db in
            try db.eachInSavepoint(records) { record in try Self.insert(record, now: now, in: db) }
        }
        let stored = results.reduce(0) { count, result in
            if case .success(.stored) = result { return count + 1 }
            return count
        }
        statistics.recordCommit(stored: stored)
        return results
    }

    /// Stores one record in the open transaction (also used by status-check
    /// completions, which store the provider's answer the same way).
    static func insert(_ record: IngestRecord, now: Timestamp, in db: Database) throws -> AppendOutcome {
        var event = record.event
        let provider = event.data.provider

        if let key = record.dedupKey {
            if let existing = try String.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM events WHERE provider = ? AND dedup_key = ?"), arguments: [provider, key]
            ) {
                guard let id = EventID(existing) else {
                    throw SQLiteEventLogError.corruptRow(table: "events", key: existing, reason: "not an event id")
                }
                return .duplicate(of: id)
            }
        }

        // Placed before its envelope is rendered: `data.order` is part of what endpoints receive.
        let slot = try SQLiteEventLog.placeInOrder(&event, now: now.millisecondsSinceEpoch, in: db)
        // Cached statements: prepared once per connection, not once per record.
        try db.cachedStatement(
            sql: """
                INSERT INTO events (id, type, provider, route, channel, verified, order_id, received_at_ms, dedup_key, envelope)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                event.id.rawValue, event.type.rawValue, provider, event.data.route, event.data.channel.rawValue,
                event.data.verified, event.data.orderID, event.data.receivedAt.millisecondsSinceEpoch,
                record.dedupKey, Data(event.envelopeBytes),
            ])

        let raw = record.raw
        // An empty Data may bind as NULL; the body column is NOT NULL.
        try db.cachedStatement(
            sql: """
                INSERT INTO raw_requests (event_id, method, path, query, headers, body, remote_address, received_at_ms)
                VALUES (?, ?, ?, ?, ?, coalesce(?, x''), ?, ?)
                """).execute(
            arguments: [
                event.id.rawValue, raw.method, raw.path, raw.query, HeaderCoding.render(raw.headers),
                Data(raw.body), raw.remoteAddress, raw.receivedAt.millisecondsSinceEpoch,
            ])

        let deliveries = try SQLiteEventLog.insertDeliveries(
            eventID: event.id, targets: record.targets, slot: slot, now: now.millisecondsSinceEpoch, in: db)
        if let request = record.statusCheck {
            try SQLiteEventLog.scheduleStatusCheck(after: event, slot: slot, request: request, now: now, in: db)
        }
        return .stored(event.id, order: slot?.placement, deliveries: deliveries)
    }
}
