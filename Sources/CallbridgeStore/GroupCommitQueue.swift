import Synchronization

/// Turns many concurrent single-item submissions into few batched commits.
///
/// Callers `submit` one item and suspend. A single drain loop takes everything
/// pending (up to `maxBatchSize`), hands it to `commit` as one batch, and
/// resumes each caller with its own result. While a batch is being committed,
/// new submissions pile up and form the next batch, so under load the number
/// of commits grows far slower than the number of items.
///
/// Invariants:
/// - at most one batch is being committed at any time (one drain loop);
/// - a caller is resumed only after the batch holding its item returned from
///   `commit` (for the event log: after the transaction committed);
/// - items are committed in submission order;
/// - if `commit` throws, every caller of that batch receives the error;
///   otherwise each caller receives the result at its own position.
package final class GroupCommitQueue<Item: Sendable, Outcome: Sendable>: Sendable {
    /// Commits a batch; returns one result per item, in the same order.
    package typealias Commit = @Sendable ([Item]) async throws -> [Result<Outcome, any Error>]

    private typealias Waiter = CheckedContinuation<Outcome, any Error>

    private struct State: ~Copyable {
        var pending: [(item: Item, waiter: Waiter)] = []
        var draining = false
    }

    private let state = Mutex(State())
    private let maxBatchSize: Int
    private let commit: Commit

    package init(maxBatchSize: Int = 1000, commit: @escaping Commit) {
        self.maxBatchSize = max(1, maxBatchSize)
        self.commit = commit
    }

    /// Enqueues `item` and returns its result once its batch has been committed.
    package func submit(_ item: Item) async throws -> Outcome {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let startDrain = state.withLock { state -> Bool in
                state.pending.append((item, waiter))
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain {
                Task { await self.drain() }
            }
        }
    }

    /// Commits batches until nothing is pending, then lets the next submitter
    /// start a new drain loop.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [(item: Item, waiter: Waiter)] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(maxBatchSize, state.pending.count)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }

            do {
                let results = try await commit(batch.map(\.item))
                guard results.count == batch.count else {
                    let error = GroupCommitError.resultCountMismatch(expected: batch.count, got: results.count)
                    for entry in batch { entry.waiter.resume(throwing: error) }
                    continue
                }
                for (entry, result) in zip(batch, results) {
                    entry.waiter.resume(with: result)
                }
            } catch {
                for entry in batch { entry.waiter.resume(throwing: error) }
            }
        }
    }
}

/// A broken `GroupCommitQueue.Commit` implementation (a programming error,
/// reported to every caller of the batch instead of trapping).
package enum GroupCommitError: Error, Sendable, Equatable {
    case resultCountMismatch(expected: Int, got: Int)
}
