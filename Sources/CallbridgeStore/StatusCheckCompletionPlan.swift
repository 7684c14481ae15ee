import CallbridgeModel

/// What completing one status-check try writes, decided once for both logs:
/// the job's transition, the try recorded, and each waiting hint's verdict.
/// The log runs it inside the completion's transaction, storing the answer
/// (when there is one) between `init` and `completion`.
///
/// Invariants: an answered try settles every waiting hint against the
/// answer; a failed run (not a retry) settles them as unanswered; a retry or
/// a skip settles none; the job's row is written exactly once, after.
package struct StatusCheckCompletionPlan: Sendable {
    package private(set) var check: StatusCheck
    package private(set) var outcome: StatusCheckOutcome
    package private(set) var attempt: StatusCheckTry?
    private let result: StatusCheckResult
    private let policy: StatusCheckPolicy
    private let now: Timestamp
    private var answerEventID: EventID?
    private var stored = false
    private var order: OrderPlacement?
    private var deliveries = 0

    package init(check: StatusCheck, result: StatusCheckResult, policy: StatusCheckPolicy, now: Timestamp) {
        self.check = check
        self.result = result
        self.policy = policy
        self.now = now
        switch result {
        case .skipped:
            self.check.skipped()
            outcome = .skipped
        case .failed(let retryable, let retryAfter, var attempt):
            outcome = self.check.failed(now: now, retryable: retryable, retryAfter: retryAfter, error: attempt.error ?? "failed", policy: policy)
            attempt.outcome = outcome
            self.attempt = attempt
        case .answered(_, var attempt):
            // The transition waits for the stored answer (`answerStored`).
            outcome = .answered
            attempt.outcome = .answered
            self.attempt = attempt
        }
    }

    /// Whether the waiting hints get their verdicts now.
    package var settlesHints: Bool { outcome == .answered || outcome == .failed || outcome == .gaveUp }

    /// The answer was stored (or found stored, a duplicate); `entry` is its order afterwards.
    package mutating func answerStored(_ appended: AppendOutcome, entry: OrderLedgerEntry?) {
        answerEventID = appended.eventID
        if case .stored = appended { stored = true }
        order = appended.order
        deliveries = appended.deliveries
        attempt?.answerEventID = appended.eventID
        check.answered(now: now, eventID: appended.eventID, orderAwaitsPayment: entry?.paymentState.awaitsPayment ?? false, policy: policy)
    }

    /// One waiting hint's verdict, and the event that answered it.
    package func verdict(_ hint: StatusCheckHint) -> (StatusCheckVerdict, EventID?) {
        if case .answered(let record, _) = result, let answerEventID {
            return (StatusCheckVerdict.compare(hint, with: record.event), answerEventID)
        }
        return (.unanswered(attempt?.error ?? outcome.rawValue), nil)
    }

    package func completion(hints: [StatusCheckHint]) -> StatusCheckCompletion {
        StatusCheckCompletion(check: check, outcome: outcome, answerEventID: answerEventID, stored: stored, order: order,
                              deliveries: deliveries, hints: hints)
    }
}

extension StatusCheck {
    /// Whether this row (read inside a write transaction) is still leased by the lease `held`.
    package func holdsLease(of held: StatusCheck) -> Bool {
        state == .leased && leaseOwner == held.leaseOwner && leaseGeneration == held.leaseGeneration
    }
}

extension StatusCheckTry {
    /// The try a lease that expired stands for: its process went away mid-try.
    package static func abandoned(_ check: StatusCheck, now: Timestamp) -> StatusCheckTry {
        StatusCheckTry(startedAt: now, durationMilliseconds: 0, httpStatus: nil,
                       error: "the process holding the check (\(check.leaseOwner ?? "?")) stopped before it finished; asked again",
                       outcome: .abandoned, reason: check.reason)
    }
}
