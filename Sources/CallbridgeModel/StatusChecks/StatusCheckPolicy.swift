/// The timing rules one provider's status checks follow, in milliseconds:
/// the handler file's poll schedule and the server's retry schedule and
/// minimum spacing (`status_checks:` in callbridge.yaml).
///
/// Invariants: every delay is positive; an empty `poll` means pending orders
/// are not polled; an empty `retry` means a failed try ends its run.
public struct StatusCheckPolicy: Sendable, Hashable {
    /// Waits after each answer while the order still awaits payment
    /// (default 2 min, 5 min, 15 min, 1 h, 6 h): the n-th answer schedules
    /// the next check `poll[n]` later, until the schedule ends.
    public var poll: [Int64]
    /// Waits after each failed try (transport error, 5xx, 429) before the next one.
    public var retry: [Int64]
    /// A return never makes a check start sooner than this after the last try
    /// (coalescing beyond the one pending check per order).
    public var minInterval: Int64
    /// The longest a provider's Retry-After can push a retry.
    public var maxRetryAfter: Int64

    public init(poll: [Int64] = StatusCheckPolicy.defaultPoll, retry: [Int64] = StatusCheckPolicy.defaultRetry,
                minInterval: Int64 = 10_000, maxRetryAfter: Int64 = 3_600_000) {
        self.poll = poll
        self.retry = retry
        self.minInterval = minInterval
        self.maxRetryAfter = maxRetryAfter
    }

    /// 2 min, 5 min, 15 min, 1 h, 6 h: quick enough for a buyer still on the
    /// page (3-D Secure and UPI approvals usually settle within minutes),
    /// sparse later, and over once a day-old payment would be a support case.
    public static let defaultPoll: [Int64] = [120_000, 300_000, 900_000, 3_600_000, 21_600_000]
    /// 5 s, 30 s, 2 min, 10 min, 30 min.
    public static let defaultRetry: [Int64] = [5_000, 30_000, 120_000, 600_000, 1_800_000]
}

/// Why a status check was asked for.
public enum StatusCheckReason: String, Sendable, Hashable, CaseIterable {
    /// A browser return (a hint) asked for the provider's word.
    case `return`
    /// The order's verified state still awaits payment: polling.
    case poll
    /// An operator asked (`callbridge orders check`, the admin API).
    case manual
}
