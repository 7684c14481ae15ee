import CallbridgeModel

/// Deleting old events (`retention.days`, `callbridge prune`).
///
/// Invariant: nothing undelivered is ever deleted. An event is prunable only
/// when it was received before the cut-off and none of its deliveries is
/// pending, in flight, or dead without a replay that took its place.
/// Deleting an event deletes its raw request, deliveries, attempts and
/// revisions with it.
public protocol RetentionLog: Sendable {
    /// How many events `prune(before:)` would delete now.
    func prunableCount(before cutoff: Timestamp) async throws -> Int
    /// Deletes prunable events in batches; returns how many were deleted.
    @discardableResult
    func prune(before cutoff: Timestamp, batchSize: Int) async throws -> Int
}
