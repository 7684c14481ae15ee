import CallbridgeModel
import Foundation
import GRDB

extension SQLiteEventLog {
    public func confirm(_ event: Event, addingDeliveriesTo targets: [DeliveryTarget]) async throws -> ConfirmOutcome? {
        guard !isReadOnly else { throw SQLiteEventLogError.readOnly }
        let now = AppendBatchWriter.currentTimestamp().millisecondsSinceEpoch
        return try await dbPool.write { db in
            // A new revision like any other (the unverified form is kept), placed again in its order's story.
            guard let revision = try Self.writeRevision(event, in: db, now: now, onlyIfUnverified: true) else { return nil }
            let existing = Set(try String.fetchAll(db, sql: "SELECT endpoint FROM deliveries WHERE event_id = ?", arguments: [event.id.rawValue]))
            let added = try Self.insertDeliveries(eventID: event.id, targets: targets.filter { !existing.contains($0.endpoint) },
                                                  slot: revision.slot, now: now, in: db)
            return ConfirmOutcome(addedDeliveries: added, order: revision.slot?.placement)
        }
    }
}
