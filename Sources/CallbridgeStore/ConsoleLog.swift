import CallbridgeModel

/// The reads an operator console needs beyond the CLI's (README, "Admin
/// API"): events found by any column the log copies out of the envelope,
/// activity per time bucket, and the most recent status-check tries across
/// every order.
///
/// Invariants every implementation keeps:
/// - Everything here only reads; nothing changes the log.
/// - `searchEvents` orders by id descending (ids are time-ordered ULIDs), so
///   `before` and `after` are stable cursors: paging with `before` never
///   repeats or skips an event that was already stored.
/// - `activity` returns one bucket per `bucketMilliseconds` step from
///   `since` (inclusive) to `until` (exclusive), empty buckets included, so a
///   chart's x axis is the array's index.
public protocol ConsoleLog: Sendable {
    /// Events newest first, matching every condition `search` sets.
    func searchEvents(_ search: EventSearch) async throws -> [Event]
    /// Events received and delivery attempts started in each bucket of `[since, until)`.
    func activity(since: Timestamp, until: Timestamp, bucketMilliseconds: Int64) async throws -> [ActivityBucket]
    /// The latest status-check tries of every order, newest first.
    func recentStatusCheckTries(limit: Int) async throws -> [RecentStatusCheckTry]
}

/// A filter over the log's events for the console: each set field is one
/// more condition (AND). Times compare with `received_at`.
public struct EventSearch: Sendable, Hashable {
    public var provider: String?
    public var type: EventType?
    public var channel: Channel?
    public var verified: Bool?
    public var orderID: String?
    /// Received at or after this instant.
    public var since: Timestamp?
    /// Received at or before this instant.
    public var until: Timestamp?
    /// Only events with an id strictly older than this one (the next page).
    public var before: EventID?
    /// Only events with an id strictly newer than this one (what is new since a poll).
    public var after: EventID?
    public var limit: Int

    public init(provider: String? = nil, type: EventType? = nil, channel: Channel? = nil, verified: Bool? = nil, orderID: String? = nil,
                since: Timestamp? = nil, until: Timestamp? = nil, before: EventID? = nil, after: EventID? = nil, limit: Int = 50) {
        self.provider = provider
        self.type = type
        self.channel = channel
        self.verified = verified
        self.orderID = orderID
        self.since = since
        self.until = until
        self.before = before
        self.after = after
        self.limit = limit
    }
}

/// What happened in one time bucket: events stored, and delivery attempts
/// started with how they went and how long they took.
///
/// Invariant: `succeeded <= attempts`; the duration fields are 0 when
/// `attempts` is 0.
public struct ActivityBucket: Sendable, Hashable {
    public var start: Timestamp
    public var events: Int
    public var attempts: Int
    /// Attempts answered with a 2xx status.
    public var succeeded: Int
    public var totalDurationMilliseconds: Int64
    public var maxDurationMilliseconds: Int64

    public init(start: Timestamp, events: Int = 0, attempts: Int = 0, succeeded: Int = 0, totalDurationMilliseconds: Int64 = 0,
                maxDurationMilliseconds: Int64 = 0) {
        self.start = start
        self.events = events
        self.attempts = attempts
        self.succeeded = succeeded
        self.totalDurationMilliseconds = totalDurationMilliseconds
        self.maxDurationMilliseconds = maxDurationMilliseconds
    }

    /// Empty buckets from `since` to `until` in steps of `step` (at least one
    /// millisecond), keyed by their index, ready to be filled from grouped rows.
    public static func empty(since: Timestamp, until: Timestamp, step: Int64) -> [ActivityBucket] {
        guard step > 0, until > since else { return [] }
        let count = Int((until.millisecondsSinceEpoch - since.millisecondsSinceEpoch + step - 1) / step)
        return (0..<count).map { ActivityBucket(start: since.adding(milliseconds: Int64($0) * step)) }
    }
}

/// One status-check try with the order it was about.
public struct RecentStatusCheckTry: Sendable, Hashable {
    public var provider: String
    public var orderID: String
    public var attempt: StatusCheckTry

    public init(provider: String, orderID: String, attempt: StatusCheckTry) {
        self.provider = provider
        self.orderID = orderID
        self.attempt = attempt
    }
}
