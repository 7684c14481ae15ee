import CallbridgeModel

/// The status-check side of the log (README, "Status checks"): one job per
/// (provider, order id), written in the transaction of the event that needs
/// it (the outbox again), leased like deliveries, and completed in one
/// transaction with the event the provider's answer became.
///
/// Invariants every implementation keeps:
/// - A job row changes only through `StatusCheck`'s transitions, inside a
///   write transaction that holds the row (SQLite's single writer; a row
///   lock on PostgreSQL).
/// - At most one job per (provider, order id): a return for an order whose
///   check is waiting or in flight joins it (its hint is linked, no new call).
/// - A completion whose lease was taken over (expired, leased again) changes
///   nothing and returns nil: the newer lease's try counts.
/// - An answer is stored like an ingested event (dedup, order ledger,
///   deliveries) in the completion's transaction; every hint waiting on the
///   job gets its verdict there too.
public protocol StatusCheckLog: Sendable {
    /// Leases up to `limit` due jobs of `provider` (waiting and due, or
    /// leased with an expired lease), oldest due first, until `now + leaseFor`.
    /// A job whose earlier lease expired gets an `abandoned` try recorded.
    func leaseStatusChecks(provider: String, limit: Int, owner: String, leaseFor: Int64, now: Timestamp) async throws -> [LeasedStatusCheck]
    /// Records one try and moves the job. Nil when the lease is no longer held.
    func completeStatusCheck(_ lease: LeasedStatusCheck, result: StatusCheckResult, policy: StatusCheckPolicy,
                             now: Timestamp) async throws -> StatusCheckCompletion?
    /// An operator asks now: creates the job if needed and makes it due
    /// (a job in flight is left to finish). `transactionID` is kept if given.
    func requestStatusCheck(provider: String, orderID: String, transactionID: String?, now: Timestamp) async throws -> StatusCheck
    /// The job, its recent tries (newest first) and its hints, for the story.
    func statusCheck(provider: String, orderID: String, tries limit: Int) async throws -> StatusCheckDetail?
    /// Queue depth (waiting or leased) and the oldest due time, per provider.
    func statusCheckQueue() async throws -> [String: StatusCheckQueueDepth]
    /// The earliest time a job becomes due (waiting, or a lease expiring); nil when none.
    func nextStatusCheckDue() async throws -> Timestamp?
}

/// What ingest asks of the status checks when it stores an event (carried
/// by `IngestRecord.statusCheck`): decided by the log, at commit, from the
/// event and the order's state after it is placed.
public struct StatusCheckRequest: Sendable, Hashable {
    /// The event is a return that asks for the provider's word now.
    public var asksNow: Bool
    public var policy: StatusCheckPolicy
    /// Whether the provider's status URL needs the transaction id (the job
    /// cannot be asked without one).
    public var needsTransactionID: Bool

    public init(asksNow: Bool, policy: StatusCheckPolicy, needsTransactionID: Bool) {
        self.asksNow = asksNow
        self.policy = policy
        self.needsTransactionID = needsTransactionID
    }
}

/// A job handed to a worker.
public struct LeasedStatusCheck: Sendable, Hashable {
    public var check: StatusCheck
    /// Returns waiting for this try's answer (their events), at lease time.
    public var waitingHints: Int

    public init(check: StatusCheck, waitingHints: Int) {
        self.check = check
        self.waitingHints = waitingHints
    }

    public var provider: String { check.provider }
    public var orderID: String { check.orderID }
}

/// What one try came to, as the worker hands it to the log.
public enum StatusCheckResult: Sendable, Hashable {
    /// The provider answered: `record` is the answer as an event to store.
    case answered(IngestRecord, StatusCheckTry)
    /// No usable answer. `retryable` follows the retry schedule; `retryAfter`
    /// (milliseconds) is the provider's Retry-After.
    case failed(retryable: Bool, retryAfter: Int64?, StatusCheckTry)
    /// No call made: the order no longer awaits payment and no return waits.
    case skipped
}

/// One recorded try: what was asked and what came back.
public struct StatusCheckTry: Sendable, Hashable {
    public var startedAt: Timestamp
    public var durationMilliseconds: Int64
    /// The HTTP status, when an answer came.
    public var httpStatus: Int?
    public var error: String?
    public var outcome: StatusCheckOutcome
    public var reason: StatusCheckReason
    /// The event the answer is (stored now, or the earlier identical answer).
    public var answerEventID: EventID?

    public init(startedAt: Timestamp, durationMilliseconds: Int64, httpStatus: Int?, error: String?, outcome: StatusCheckOutcome,
                reason: StatusCheckReason, answerEventID: EventID? = nil) {
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.httpStatus = httpStatus
        self.error = error
        self.outcome = outcome
        self.reason = reason
        self.answerEventID = answerEventID
    }

    public var json: JSONValue {
        .object([
            ("started_at", .string(startedAt.rfc3339)),
            ("duration_ms", .number(String(durationMilliseconds))),
            ("http_status", httpStatus.map { .number(String($0)) } ?? .null),
            ("outcome", .string(outcome.rawValue)),
            ("reason", .string(reason.rawValue)),
            ("error", error.map(JSONValue.string) ?? .null),
            ("answer_event_id", answerEventID.map { .string($0.rawValue) } ?? .null),
        ])
    }
}

/// What a completion did.
public struct StatusCheckCompletion: Sendable, Hashable {
    /// The job after the try.
    public var check: StatusCheck
    /// The outcome recorded for the try.
    public var outcome: StatusCheckOutcome
    /// The answer's event: stored by this completion (`stored`), or the
    /// earlier identical answer.
    public var answerEventID: EventID?
    public var stored: Bool
    public var order: OrderPlacement?
    public var deliveries: Int
    /// The hints this try gave a verdict.
    public var hints: [StatusCheckHint]

    public init(check: StatusCheck, outcome: StatusCheckOutcome, answerEventID: EventID?, stored: Bool, order: OrderPlacement?,
                deliveries: Int, hints: [StatusCheckHint]) {
        self.check = check
        self.outcome = outcome
        self.answerEventID = answerEventID
        self.stored = stored
        self.order = order
        self.deliveries = deliveries
        self.hints = hints
    }
}

/// A job with its recent tries and its hints.
public struct StatusCheckDetail: Sendable, Hashable {
    public var check: StatusCheck
    public var tries: [StatusCheckTry]
    public var hints: [StatusCheckHint]

    public init(check: StatusCheck, tries: [StatusCheckTry], hints: [StatusCheckHint]) {
        self.check = check
        self.tries = tries
        self.hints = hints
    }
}

/// One provider's queue: jobs waiting or in flight, and the oldest due time.
public struct StatusCheckQueueDepth: Sendable, Hashable {
    public var waiting: Int
    public var leased: Int
    public var oldestDue: Timestamp?

    public init(waiting: Int, leased: Int, oldestDue: Timestamp?) {
        self.waiting = waiting
        self.leased = leased
        self.oldestDue = oldestDue
    }
}

extension StatusCheck {
    /// What the log does after storing `event` (its order placed, `entry`
    /// the order afterwards) for a provider with a status API: a return that
    /// asks joins or starts the job; an order left awaiting payment is
    /// polled. Returns whether the job changed and whether the event is a
    /// hint to link. Nil job when nothing is to be done and none exists.
    public static func afterEvent(_ event: Event, placement: OrderPlacement?, entry: OrderLedgerEntry?, existing: StatusCheck?,
                                  request: StatusCheckRequest, now: Timestamp) -> (check: StatusCheck, linksHint: Bool)? {
        guard let orderID = event.data.orderID, !orderID.isEmpty else { return nil }
        var check = existing ?? StatusCheck(provider: event.data.provider, orderID: orderID, createdAt: now)
        if let transactionID = event.data.transactionID, !transactionID.isEmpty { check.transactionID = transactionID }
        if request.needsTransactionID, check.transactionID == nil { return nil }
        let before = check
        var linksHint = false
        if request.asksNow {
            check.askedByReturn(now: now, policy: request.policy)
            linksHint = true
        }
        if let entry, entry.paymentState.awaitsPayment, event.data.verified {
            check.orderAwaitsPayment(now: now, advanced: placement?.transition == .advanced, policy: request.policy)
        }
        guard existing == nil ? (check.state != .idle) : (check != before || linksHint) else { return nil }
        return (check, linksHint)
    }
}
