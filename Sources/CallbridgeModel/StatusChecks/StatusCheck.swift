/// One order's status-check job: at most one per (provider, order id), kept
/// in the log beside the order, and moved only by the transitions below (the
/// same pure code for SQLite and PostgreSQL, called inside the transaction
/// that writes the row).
///
/// States: `idle` (nothing due) → `waiting` (due at `dueAt`) → `leased` (a
/// worker is asking the provider; fenced by `leaseGeneration`) → `waiting`
/// (a retry, or the next poll) or `idle`. A lease that expires makes the job
/// due again, so a process killed mid-check is finished by another (or by
/// itself after a restart).
///
/// Invariants: `dueAt` is set exactly when `state == .waiting`; `leaseOwner`
/// and `leaseExpiresAt` exactly when `state == .leased`; `leaseGeneration`
/// grows on every lease, so a completion from an older lease is refused;
/// `pollNext` is nil when the order is not being polled.
public struct StatusCheck: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        case idle, waiting, leased
    }

    public var provider: String
    public var orderID: String
    /// The provider's own id for the order (NonStoPay's invoice id), when a
    /// status URL needs it; the latest one an event carried.
    public var transactionID: String?
    public var state: State = .idle
    public var dueAt: Timestamp?
    public var leaseOwner: String?
    public var leaseExpiresAt: Timestamp?
    public var leaseGeneration: Int64 = 0
    /// Why the run that is waiting or leased was asked for.
    public var reason: StatusCheckReason = .return
    /// Index into the poll schedule of the wait after the next answer; nil when not polling.
    public var pollNext: Int?
    /// Failed tries in the current run (reset by an answer).
    public var failures: Int = 0
    /// Every try made for this order (answered or not).
    public var tries: Int64 = 0
    public var answers: Int64 = 0
    public var lastTriedAt: Timestamp?
    public var lastOutcome: StatusCheckOutcome?
    public var lastError: String?
    public var lastAnswerEventID: EventID?
    public var createdAt: Timestamp

    public init(provider: String, orderID: String, createdAt: Timestamp) {
        self.provider = provider
        self.orderID = orderID
        self.createdAt = createdAt
    }

    /// The earliest a return may make the next try start.
    func earliestStart(now: Timestamp, policy: StatusCheckPolicy) -> Timestamp {
        guard let last = lastTriedAt else { return now }
        let spaced = last.adding(milliseconds: policy.minInterval)
        return spaced > now ? spaced : now
    }

    // MARK: - Transitions

    /// A return asks for the provider's word: an idle job becomes due (no
    /// sooner than `minInterval` after the last try); a waiting one is
    /// brought forward, unless it waits out a retry (returns never shorten
    /// the backoff from a failing provider); a leased one is joined (its
    /// answer answers the return).
    public mutating func askedByReturn(now: Timestamp, policy: StatusCheckPolicy) {
        let start = earliestStart(now: now, policy: policy)
        switch state {
        case .idle:
            becomeDue(at: start, reason: .return)
        case .waiting:
            if lastOutcome != .retry, let due = dueAt, start < due { dueAt = start }
            reason = .return
        case .leased:
            break
        }
    }

    /// An operator asks now, whatever the spacing.
    public mutating func askedByOperator(now: Timestamp) {
        switch state {
        case .idle, .waiting: becomeDue(at: now, reason: .manual)
        case .leased: break
        }
    }

    /// An event left the order awaiting payment (created, pending,
    /// authorized). Polling starts when the job is not already polling, or
    /// when the event moved the order (`advanced`): a new state restarts the
    /// schedule, a repeated one does not.
    public mutating func orderAwaitsPayment(now: Timestamp, advanced: Bool, policy: StatusCheckPolicy) {
        guard let first = policy.poll.first else { return }
        guard pollNext == nil || advanced else { return }
        switch state {
        case .idle:
            becomeDue(at: now.adding(milliseconds: first), reason: .poll)
            pollNext = 1
        case .waiting where reason == .poll:
            let next = now.adding(milliseconds: first)
            if let due = dueAt, next < due { dueAt = next }
            pollNext = 1
        case .waiting, .leased:
            // The pending try's answer schedules the first poll.
            pollNext = 0
        }
    }

    /// Leases a due job (or one whose lease expired) to `owner` until `until`.
    public mutating func lease(owner: String, until: Timestamp) {
        state = .leased
        dueAt = nil
        leaseOwner = owner
        leaseExpiresAt = until
        leaseGeneration += 1
    }

    /// Whether a waiting job is due, or a leased one's lease has expired.
    public func isDue(now: Timestamp) -> Bool {
        switch state {
        case .idle: return false
        case .waiting: return (dueAt ?? now) <= now
        case .leased: return (leaseExpiresAt ?? now) <= now
        }
    }

    /// The provider answered. While the order awaits payment the next poll is
    /// scheduled (starting the schedule if it was not running), else the job
    /// goes idle.
    public mutating func answered(now: Timestamp, eventID: EventID, orderAwaitsPayment: Bool, policy: StatusCheckPolicy) {
        tries += 1
        answers += 1
        lastTriedAt = now
        lastOutcome = .answered
        lastError = nil
        lastAnswerEventID = eventID
        failures = 0
        endLease()
        guard orderAwaitsPayment else {
            pollNext = nil
            state = .idle
            return
        }
        let step = pollNext ?? 0
        continuePolling(from: step, now: now, policy: policy)
    }

    /// The try failed. A retryable failure is tried again on the retry
    /// schedule (a Retry-After may push it later); when the schedule is spent,
    /// or the failure is final (a 4xx), the run ends: the job goes on polling
    /// if it was, else idle. Returns the outcome recorded.
    @discardableResult
    public mutating func failed(now: Timestamp, retryable: Bool, retryAfter: Int64?, error: String, policy: StatusCheckPolicy) -> StatusCheckOutcome {
        tries += 1
        lastTriedAt = now
        lastError = error
        endLease()
        if retryable, failures < policy.retry.count {
            var wait = policy.retry[failures]
            if let retryAfter, retryAfter > wait { wait = min(retryAfter, policy.maxRetryAfter) }
            failures += 1
            lastOutcome = .retry
            state = .waiting
            dueAt = now.adding(milliseconds: wait)
            return .retry
        }
        let outcome: StatusCheckOutcome = retryable ? .gaveUp : .failed
        lastOutcome = outcome
        failures = 0
        if let step = pollNext {
            continuePolling(from: step, now: now, policy: policy)
        } else {
            state = .idle
        }
        return outcome
    }

    /// Nothing to ask: the order no longer awaits payment and no return is
    /// waiting for an answer. No call is made.
    public mutating func skipped() {
        lastOutcome = .skipped
        endLease()
        pollNext = nil
        failures = 0
        state = .idle
    }

    private mutating func continuePolling(from step: Int, now: Timestamp, policy: StatusCheckPolicy) {
        if step < policy.poll.count {
            becomeDue(at: now.adding(milliseconds: policy.poll[step]), reason: .poll)
            pollNext = step + 1
        } else {
            pollNext = nil
            state = .idle
        }
    }

    private mutating func becomeDue(at time: Timestamp, reason: StatusCheckReason) {
        state = .waiting
        dueAt = time
        self.reason = reason
        leaseOwner = nil
        leaseExpiresAt = nil
    }

    private mutating func endLease() {
        leaseOwner = nil
        leaseExpiresAt = nil
        dueAt = nil
    }
}

/// What one try (or one lease) of a status check came to: the `outcome`
/// label of `callbridge_status_checks_total` and of each recorded try.
public enum StatusCheckOutcome: String, Sendable, Hashable, CaseIterable {
    /// The provider answered with the order's status (recorded as an event).
    case answered
    /// A transport error, 5xx or 429: tried again on the retry schedule.
    case retry
    /// The retry schedule is spent; the run ended without an answer.
    case gaveUp = "gave_up"
    /// A 4xx other than 429, or an answer that is not about this order: ended, error recorded.
    case failed
    /// Nothing to ask (the order was settled meanwhile); no call made.
    case skipped
    /// The process holding the lease went away mid-try; the job was leased again.
    case abandoned
}
