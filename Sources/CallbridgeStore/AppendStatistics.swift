import Synchronization

/// Counters of committed append transactions, shared by the writer and the
/// log that reports them.
///
/// Invariant: both counters only grow, and only after a commit succeeded.
package final class AppendStatistics: Sendable {
    private struct Counts {
        var commits = 0
        var appended = 0
    }

    private let counts = Mutex(Counts())

    package init() {}

    package var commitCount: Int { counts.withLock { $0.commits } }
    package var appendedCount: Int { counts.withLock { $0.appended } }

    package func recordCommit(stored: Int) {
        counts.withLock {
            $0.commits += 1
            $0.appended += stored
        }
    }
}
