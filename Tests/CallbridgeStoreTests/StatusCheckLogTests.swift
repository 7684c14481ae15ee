import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite
@testable import CallbridgeStorePostgres

/// Status checks (`StatusCheckLog`, README "Status checks") on every
/// `LogBackend`: the job an append starts or joins in its transaction,
/// leasing, completions (answers stored like ingested events, hints given
/// their verdicts, retries, runs ending), stale leases, polling, operator
/// requests and the queue reads. On PostgreSQL, also several processes
/// writing one order's job at once.
@Suite struct StatusCheckLogTests {
    static let base = Fixtures.baseMillis
    static let leaseFor: Int64 = 30_000
    static let policy = StatusCheckPolicy(poll: [60_000, 300_000], retry: [5_000, 30_000], minInterval: 10_000, maxRetryAfter: 3_600_000)
    static let asks = StatusCheckRequest(asksNow: true, policy: policy, needsTransactionID: false)
    static let polls = StatusCheckRequest(asksNow: false, policy: policy, needsTransactionID: false)

    /// A browser return of `order` that asks for a check (an unverified hint).
    static func returned(_ type: EventType, order: String = "ord_1", millis: Int64, request: StatusCheckRequest = asks) -> IngestRecord {
        record(type, order: order, route: "return", channel: .redirect, verified: false, verification: .none, amount: nil, dedupKey: nil,
               millis: millis, statusCheck: request)
    }

    /// A verified callback of `order`, as ingest hands it over for a provider with a status API.
    static func callback(_ type: EventType, order: String = "ord_1", millis: Int64, request: StatusCheckRequest = polls) -> IngestRecord {
        record(type, order: order, route: "webhook", channel: .callback, verified: true, verification: .basicAuth, amount: "100.00",
               dedupKey: nil, millis: millis, statusCheck: request)
    }

    /// The provider's answer about `order`, as a worker hands it to the log
    /// (dedup key scoped to the order, as `StatusAPISpec.answer` makes it).
    static func answer(_ type: EventType, order: String = "ord_1", key: String, at now: Timestamp) -> IngestRecord {
        record(type, order: order, route: "status_check", channel: .statusCheck, verified: true, verification: .providerAPI, amount: "100.00",
               dedupKey: "status_check:\(order):\(key)", millis: now.millisecondsSinceEpoch, statusCheck: nil)
    }

    static func record(_ type: EventType, order: String, route: String, channel: Channel, verified: Bool, verification: VerificationMethod,
                       amount: String?, dedupKey: String?, millis: Int64, statusCheck: StatusCheckRequest?) -> IngestRecord {
        let received = Timestamp(millisecondsSinceEpoch: millis)
        let data = EventData(
            provider: "juspay", route: route, channel: channel, verified: verified, verification: verification, orderID: order,
            providerStatus: type.rawValue, amount: amount.flatMap { DecimalAmount($0) }, currency: CurrencyCode("INR"), receivedAt: received)
        let event = Event(id: EventID.generate(millisecondsSinceEpoch: UInt64(millis)), type: type, timestamp: received, data: data)
        let raw = RawRequest(method: channel == .statusCheck ? "GET" : "POST", path: "/\(route)/juspay", query: "", headers: [],
                             body: Array("{}".utf8), remoteAddress: nil, receivedAt: received)
        return IngestRecord(event: event, raw: raw, dedupKey: dedupKey, targets: [], statusCheck: statusCheck)
    }

    static func attempt(at now: Timestamp, status: Int? = 200, error: String? = nil, reason: StatusCheckReason = .return) -> StatusCheckTry {
        StatusCheckTry(startedAt: now, durationMilliseconds: 12, httpStatus: status, error: error, outcome: .answered, reason: reason)
    }

    static func detail(_ log: any EventLog, _ order: String = "ord_1") async throws -> StatusCheckDetail {
        try #require(try await log.statusCheck(provider: "juspay", orderID: order, tries: 20))
    }

    static func lease(_ log: any EventLog, at now: Timestamp, owner: String = "worker", limit: Int = 10) async throws -> [LeasedStatusCheck] {
        try await log.leaseStatusChecks(provider: "juspay", limit: limit, owner: owner, leaseFor: leaseFor, now: now)
    }

    /// Appends `record` and returns the wall-clock time just before and just after (the log's `now` lies between).
    static func append(_ log: any EventLog, _ record: IngestRecord) async throws -> ClosedRange<Timestamp> {
        let before = SystemClock.now()
        #expect(try await log.append(record).isStored(record.event.id))
        return before...SystemClock.now()
    }

    // MARK: - Returns start and join a job

    @Test(arguments: LogBackend.available) func aReturnStartsAJobDueNowAndASecondReturnJoinsIt(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let first = Self.returned(.paymentSucceeded, millis: Self.base)
            let window = try await Self.append(log, first)
            let started = try await Self.detail(log)
            #expect(started.check.state == .waiting)
            #expect(started.check.reason == .return)
            let due = try #require(started.check.dueAt)
            #expect(window.contains(due))
            #expect(started.check.pollNext == nil)
            #expect(started.tries.isEmpty)
            #expect(started.hints == [StatusCheckHint(first.event)])
            #expect(try await log.statusCheckQueue() == ["juspay": StatusCheckQueueDepth(waiting: 1, leased: 0, oldestDue: due)])
            #expect(try await log.nextStatusCheckDue() == due)

            // A second return of the order joins the waiting job: one job, two hints, no new call.
            let second = Self.returned(.paymentFailed, millis: Self.base + 1)
            _ = try await Self.append(log, second)
            let joined = try await Self.detail(log)
            #expect(joined.check.state == .waiting)
            #expect(joined.check.dueAt == due)
            #expect(joined.hints.map(\.eventID) == [first.event.id, second.event.id])
            #expect(joined.hints.allSatisfy { $0.verdict == nil && $0.answeredBy == nil })
            #expect(try await log.statusCheckQueue()["juspay"]?.waiting == 1)

            // Another order has a job of its own; an order nobody asked about has none.
            _ = try await Self.append(log, Self.returned(.paymentSucceeded, order: "ord_2", millis: Self.base + 2))
            #expect(try await log.statusCheckQueue()["juspay"]?.waiting == 2)
            #expect(try await log.statusCheck(provider: "juspay", orderID: "ord_none", tries: 5) == nil)
            #expect(try await log.statusCheck(provider: "luxfin", orderID: "ord_1", tries: 5) == nil)
        }
    }

    @Test(arguments: LogBackend.available) func aRecordWithoutARequestOrWithoutAnOrderIDLeavesNoJob(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            var plain = Self.returned(.paymentSucceeded, millis: Self.base)
            plain.statusCheck = nil
            _ = try await Self.append(log, plain)
            var orderless = Self.returned(.paymentSucceeded, order: "", millis: Self.base + 1)
            orderless.event.data.orderID = nil
            _ = try await Self.append(log, orderless)
            // A verified success needs no polling.
            _ = try await Self.append(log, Self.callback(.paymentSucceeded, order: "ord_2", millis: Self.base + 2))
            #expect(try await log.statusCheck(provider: "juspay", orderID: "ord_1", tries: 5) == nil)
            #expect(try await log.statusCheck(provider: "juspay", orderID: "ord_2", tries: 5) == nil)
            #expect(try await log.statusCheckQueue().isEmpty)
            #expect(try await log.nextStatusCheckDue() == nil)
        }
    }

    // MARK: - Leasing

    @Test(arguments: LogBackend.available) func aDueJobIsLeasedOnceUntilItsLeaseExpires(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let first = Self.returned(.paymentSucceeded, millis: Self.base)
            _ = try await Self.append(log, first)
            _ = try await Self.append(log, Self.returned(.paymentSucceeded, millis: Self.base + 1))
            let now = SystemClock.now()

            let leased = try await Self.lease(log, at: now, owner: "a")
            #expect(leased.count == 1)
            let job = try #require(leased.first)
            #expect(job.orderID == "ord_1" && job.provider == "juspay")
            #expect(job.waitingHints == 2)
            #expect(job.check.state == .leased)
            #expect(job.check.leaseOwner == "a")
            #expect(job.check.leaseExpiresAt == now.adding(milliseconds: Self.leaseFor))
            #expect(job.check.leaseGeneration == 1)
            #expect(try await Self.detail(log).check == job.check)

            // Nobody else gets it while the lease runs.
            #expect(try await Self.lease(log, at: now).isEmpty)
            #expect(try await Self.lease(log, at: now.adding(milliseconds: Self.leaseFor - 1), owner: "b").isEmpty)
            #expect(try await log.statusCheckQueue() == ["juspay": StatusCheckQueueDepth(waiting: 0, leased: 1, oldestDue: nil)])
            #expect(try await log.nextStatusCheckDue() == now.adding(milliseconds: Self.leaseFor))
            // Another provider's queue is apart.
            #expect(try await log.leaseStatusChecks(provider: "luxfin", limit: 10, owner: "b", leaseFor: Self.leaseFor,
                                                    now: now.adding(milliseconds: 3_600_000)).isEmpty)
            #expect(try await Self.lease(log, at: now, limit: 0).isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func anExpiredLeaseIsLeasedAgainWithAnAbandonedTryAndTheStaleCompletionChangesNothing(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await Self.append(log, Self.returned(.paymentSucceeded, millis: Self.base))
            let now = SystemClock.now()
            let crashed = try #require(try await Self.lease(log, at: now, owner: "crashed").first)

            let later = now.adding(milliseconds: Self.leaseFor)
            let retaken = try #require(try await Self.lease(log, at: later, owner: "b").first)
            #expect(retaken.check.leaseOwner == "b")
            #expect(retaken.check.leaseGeneration == 2)
            #expect(retaken.waitingHints == 1)
            let afterRelease = try await Self.detail(log)
            #expect(afterRelease.tries.count == 1)
            let abandoned = try #require(afterRelease.tries.first)
            #expect(abandoned.outcome == .abandoned)
            #expect(abandoned.reason == .return)
            #expect(abandoned.startedAt == later)
            #expect(abandoned.error?.contains("crashed") == true)

            // The crashed worker's late answer: refused, nothing stored, nothing moved.
            let late = Self.answer(.paymentSucceeded, key: "CHARGED", at: later)
            #expect(try await log.completeStatusCheck(crashed, result: .answered(late, Self.attempt(at: later)), policy: Self.policy,
                                                      now: later) == nil)
            #expect(try await log.completeStatusCheck(crashed, result: .failed(retryable: true, retryAfter: nil, Self.attempt(at: later, status: 503,
                                                      error: "HTTP 503")), policy: Self.policy, now: later) == nil)
            #expect(try await log.completeStatusCheck(crashed, result: .skipped, policy: Self.policy, now: later) == nil)
            #expect(try await Self.detail(log) == afterRelease)
            #expect(try await log.event(id: late.event.id) == nil)
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.counts.events == 1)

            // The newer lease's try counts.
            let done = try #require(try await log.completeStatusCheck(retaken, result: .answered(late, Self.attempt(at: later)), policy: Self.policy,
                                                                      now: later))
            #expect(done.stored && done.answerEventID == late.event.id)
            #expect(done.check.state == .idle)
            #expect(try await Self.detail(log).tries.map(\.outcome) == [.answered, .abandoned])
        }
    }

    // MARK: - Completions

    @Test(arguments: LogBackend.available) func anAnswerIsStoredSettlesEveryWaitingReturnAndPollsWhileThePaymentIsPending(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let pending = Self.returned(.paymentPending, millis: Self.base)
            let succeeded = Self.returned(.paymentSucceeded, millis: Self.base + 1)
            _ = try await Self.append(log, pending)
            _ = try await Self.append(log, succeeded)
            let now = SystemClock.now()
            let job = try #require(try await Self.lease(log, at: now).first)

            let said = Self.answer(.paymentPending, key: "PENDING", at: now)
            let done = try #require(try await log.completeStatusCheck(job, result: .answered(said, Self.attempt(at: now)), policy: Self.policy, now: now))
            #expect(done.outcome == .answered)
            #expect(done.stored)
            #expect(done.answerEventID == said.event.id)
            #expect(done.order?.state == .pending)
            #expect(done.order?.sequence == 3)
            // Both returns answered by the one try: the same type confirms, another differs.
            #expect(done.hints.map(\.eventID) == [pending.event.id, succeeded.event.id])
            #expect(done.hints.map(\.answeredBy) == [said.event.id, said.event.id])
            #expect(done.hints[0].verdict == .confirmed)
            #expect(done.hints[1].verdict?.label == "differs")
            // The order still awaits payment: the first poll is scheduled.
            #expect(done.check.state == .waiting)
            #expect(done.check.reason == .poll)
            #expect(done.check.dueAt == now.adding(milliseconds: Self.policy.poll[0]))
            #expect(done.check.pollNext == 1)
            #expect(done.check.tries == 1 && done.check.answers == 1)
            #expect(done.check.lastAnswerEventID == said.event.id)

            // Stored like an ingested event: verified, the order's, placed in its story.
            let stored = try #require(try await log.event(id: said.event.id))
            #expect(stored.event.type == .paymentPending)
            #expect(stored.event.data.channel == .statusCheck)
            #expect(stored.event.data.verified)
            #expect(stored.event.data.orderID == "ord_1")
            #expect(stored.dedupKey == said.dedupKey)
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.state == .pending)

            let detail = try await Self.detail(log)
            #expect(detail.check == done.check)
            #expect(detail.hints == done.hints)
            let recorded = try #require(detail.tries.first)
            #expect(detail.tries.count == 1)
            #expect(recorded.outcome == .answered)
            #expect(recorded.httpStatus == 200)
            #expect(recorded.durationMilliseconds == 12)
            #expect(recorded.answerEventID == said.event.id)
            #expect(try await log.statusCheckQueue()["juspay"]?.oldestDue == done.check.dueAt)
            #expect(try await log.nextStatusCheckDue() == done.check.dueAt)

            // Not due before the poll; at it, the answer says succeeded: idle, no hint left to settle.
            #expect(try await Self.lease(log, at: now.adding(milliseconds: Self.policy.poll[0] - 1)).isEmpty)
            let pollAt = now.adding(milliseconds: Self.policy.poll[0])
            let poll = try #require(try await Self.lease(log, at: pollAt).first)
            #expect(poll.check.reason == .poll)
            #expect(poll.waitingHints == 0)
            let paid = Self.answer(.paymentSucceeded, key: "CHARGED", at: pollAt)
            let settled = try #require(try await log.completeStatusCheck(poll, result: .answered(paid, Self.attempt(at: pollAt, reason: .poll)),
                                                                         policy: Self.policy, now: pollAt))
            #expect(settled.stored && settled.hints.isEmpty)
            #expect(settled.order?.state == .succeeded)
            #expect(settled.check.state == .idle)
            #expect(settled.check.pollNext == nil && settled.check.dueAt == nil)
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.state == .succeeded)
            #expect(try await log.statusCheckQueue().isEmpty)
            #expect(try await log.nextStatusCheckDue() == nil)
            #expect(try await Self.detail(log).tries.map(\.reason) == [.poll, .return])
        }
    }

    @Test(arguments: LogBackend.available) func aRetryableFailureIsTriedAgainOnTheRetryScheduleUntilItIsSpent(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let hint = Self.returned(.paymentSucceeded, millis: Self.base)
            _ = try await Self.append(log, hint)
            let now = SystemClock.now()
            func fail(at time: Timestamp, retryAfter: Int64? = nil) async throws -> StatusCheckCompletion {
                let job = try #require(try await Self.lease(log, at: time).first)
                let result = StatusCheckResult.failed(retryable: true, retryAfter: retryAfter, Self.attempt(at: time, status: 503, error: "HTTP 503"))
                return try #require(try await log.completeStatusCheck(job, result: result, policy: Self.policy, now: time))
            }

            let first = try await fail(at: now)
            #expect(first.outcome == .retry)
            #expect(first.check.state == .waiting)
            #expect(first.check.dueAt == now.adding(milliseconds: Self.policy.retry[0]))
            #expect(first.check.failures == 1)
            #expect(first.hints.isEmpty)
            #expect(first.answerEventID == nil && !first.stored)
            #expect(try await Self.detail(log).hints.allSatisfy { $0.verdict == nil })
            #expect(try await Self.lease(log, at: now.adding(milliseconds: Self.policy.retry[0] - 1)).isEmpty)

            // A Retry-After longer than the schedule's wait pushes the retry later.
            let second = now.adding(milliseconds: Self.policy.retry[0])
            let pushed = try await fail(at: second, retryAfter: 90_000)
            #expect(pushed.outcome == .retry)
            #expect(pushed.check.dueAt == second.adding(milliseconds: 90_000))

            // The schedule spent: the run gives up, the return is left unanswered.
            let third = second.adding(milliseconds: 90_000)
            let gaveUp = try await fail(at: third)
            #expect(gaveUp.outcome == .gaveUp)
            #expect(gaveUp.check.state == .idle)
            #expect(gaveUp.hints.map(\.eventID) == [hint.event.id])
            #expect(gaveUp.hints.first?.verdict == .unanswered("HTTP 503"))
            #expect(gaveUp.hints.first?.answeredBy == nil)
            let detail = try await Self.detail(log)
            #expect(detail.tries.map(\.outcome) == [.gaveUp, .retry, .retry])
            #expect(detail.tries.map(\.httpStatus) == [503, 503, 503])
            #expect(detail.tries.first?.error == "HTTP 503")
            #expect(detail.check.tries == 3 && detail.check.answers == 0)
            #expect(try await log.statusCheckQueue().isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func aFinalFailureEndsTheRunAndLeavesEveryWaitingReturnUnanswered(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let first = Self.returned(.paymentSucceeded, millis: Self.base)
            let second = Self.returned(.paymentCancelled, millis: Self.base + 1)
            _ = try await Self.append(log, first)
            _ = try await Self.append(log, second)
            let now = SystemClock.now()
            let job = try #require(try await Self.lease(log, at: now).first)
            let result = StatusCheckResult.failed(retryable: false, retryAfter: nil, Self.attempt(at: now, status: 404, error: "HTTP 404: no such order"))
            let done = try #require(try await log.completeStatusCheck(job, result: result, policy: Self.policy, now: now))
            #expect(done.outcome == .failed)
            #expect(done.check.state == .idle)
            #expect(done.check.lastError == "HTTP 404: no such order")
            #expect(done.hints.map(\.eventID) == [first.event.id, second.event.id])
            #expect(done.hints.allSatisfy { $0.verdict == .unanswered("HTTP 404: no such order") && $0.answeredBy == nil })
            let detail = try await Self.detail(log)
            #expect(detail.hints == done.hints)
            #expect(detail.tries.map(\.outcome) == [.failed])
            #expect(try await log.statusCheckQueue().isEmpty)

            // A later return starts a new run (spaced after the last try); the settled hints stay as they are.
            let third = Self.returned(.paymentSucceeded, millis: Self.base + 2)
            _ = try await Self.append(log, third)
            let again = try await Self.detail(log)
            #expect(again.check.state == .waiting)
            #expect(again.check.dueAt == now.adding(milliseconds: Self.policy.minInterval))
            #expect(again.hints.map(\.verdict?.label) == ["unanswered", "unanswered", nil])
        }
    }

    @Test(arguments: LogBackend.available) func aSkippedTryGoesIdleWithoutSettlingOrRecordingATry(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await Self.append(log, Self.callback(.paymentPending, millis: Self.base))
            let now = SystemClock.now().adding(milliseconds: Self.policy.poll[0])
            let job = try #require(try await Self.lease(log, at: now).first)
            let done = try #require(try await log.completeStatusCheck(job, result: .skipped, policy: Self.policy, now: now))
            #expect(done.outcome == .skipped)
            #expect(done.check.state == .idle && done.check.pollNext == nil)
            #expect(try await Self.detail(log).tries.isEmpty)
            #expect(try await log.statusCheckQueue().isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func anAnswerIdenticalToAnEarlierOneIsADuplicateThatStillAnswersTheReturn(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await Self.append(log, Self.returned(.paymentPending, millis: Self.base))
            let now = SystemClock.now()
            let job = try #require(try await Self.lease(log, at: now).first)
            let earlier = Self.answer(.paymentPending, key: "PENDING", at: now)
            _ = try #require(try await log.completeStatusCheck(job, result: .answered(earlier, Self.attempt(at: now)), policy: Self.policy, now: now))

            // A new return brings the poll forward, no sooner than the minimum spacing after the last try.
            let hint = Self.returned(.paymentPending, millis: Self.base + 1)
            _ = try await Self.append(log, hint)
            let joined = try await Self.detail(log)
            #expect(joined.check.dueAt == now.adding(milliseconds: Self.policy.minInterval))
            #expect(joined.check.reason == .return)

            let later = now.adding(milliseconds: Self.policy.minInterval)
            let again = try #require(try await Self.lease(log, at: later).first)
            #expect(again.waitingHints == 1)
            let same = Self.answer(.paymentPending, key: "PENDING", at: later)
            let done = try #require(try await log.completeStatusCheck(again, result: .answered(same, Self.attempt(at: later)), policy: Self.policy,
                                                                      now: later))
            #expect(!done.stored)
            #expect(done.answerEventID == earlier.event.id)
            #expect(done.order == nil && done.deliveries == 0)
            #expect(done.hints.map(\.eventID) == [hint.event.id])
            #expect(done.hints.first?.answeredBy == earlier.event.id)
            #expect(done.hints.first?.verdict == .confirmed)
            #expect(done.check.lastAnswerEventID == earlier.event.id)
            #expect(done.check.state == .waiting && done.check.reason == .poll)
            #expect(try await log.event(id: same.event.id) == nil)
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.counts.events == 3)
            #expect(try await Self.detail(log).tries.map(\.answerEventID) == [earlier.event.id, earlier.event.id])
        }
    }

    // MARK: - Polling and operator requests

    @Test(arguments: LogBackend.available) func aVerifiedPendingCallbackStartsPollingAndAnOperatorRequestMakesItDueNow(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let window = try await Self.append(log, Self.callback(.paymentPending, millis: Self.base))
            let polling = try await Self.detail(log)
            #expect(polling.check.state == .waiting)
            #expect(polling.check.reason == .poll)
            #expect(polling.check.pollNext == 1)
            let due = try #require(polling.check.dueAt)
            #expect((window.lowerBound.adding(milliseconds: Self.policy.poll[0])...window.upperBound.adding(milliseconds: Self.policy.poll[0]))
                .contains(due))
            #expect(polling.hints.isEmpty)
            #expect(polling.check.transactionID == nil)

            // The same state again does not restart the schedule.
            _ = try await Self.append(log, Self.callback(.paymentPending, millis: Self.base + 1))
            #expect(try await Self.detail(log).check == polling.check)

            // An operator asks now, whatever the schedule; the transaction id is kept.
            let now = SystemClock.now()
            let asked = try await log.requestStatusCheck(provider: "juspay", orderID: "ord_1", transactionID: "txn_9", now: now)
            #expect(asked.state == .waiting)
            #expect(asked.dueAt == now)
            #expect(asked.reason == .manual)
            #expect(asked.transactionID == "txn_9")
            #expect(asked.pollNext == 1)
            #expect(try await Self.detail(log).check == asked)

            // An order with no job yet gets one.
            let fresh = try await log.requestStatusCheck(provider: "juspay", orderID: "ord_2", transactionID: nil, now: now.adding(milliseconds: 5))
            #expect(fresh.state == .waiting && fresh.dueAt == now.adding(milliseconds: 5) && fresh.reason == .manual)
            #expect(fresh.createdAt == now.adding(milliseconds: 5))
            #expect(try await Self.detail(log, "ord_2").check == fresh)
            #expect(try await log.statusCheckQueue() == ["juspay": StatusCheckQueueDepth(waiting: 2, leased: 0, oldestDue: now)])
            #expect(try await log.nextStatusCheckDue() == now)

            // Oldest due first; a job in flight is left to finish.
            let leased = try await Self.lease(log, at: now.adding(milliseconds: 5), limit: 1)
            #expect(leased.map(\.orderID) == ["ord_1"])
            let untouched = try await log.requestStatusCheck(provider: "juspay", orderID: "ord_1", transactionID: nil, now: now.adding(milliseconds: 6))
            #expect(untouched == leased[0].check)
            #expect(try await log.statusCheckQueue() == ["juspay": StatusCheckQueueDepth(waiting: 1, leased: 1, oldestDue: now.adding(milliseconds: 5))])
            #expect(try await log.nextStatusCheckDue() == now.adding(milliseconds: 5))
        }
    }

    @Test(arguments: LogBackend.available) func aReturnNeedingATransactionIDWaitsForAnEventThatCarriesOne(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let needs = StatusCheckRequest(asksNow: true, policy: Self.policy, needsTransactionID: true)
            _ = try await Self.append(log, Self.returned(.paymentSucceeded, millis: Self.base, request: needs))
            #expect(try await log.statusCheck(provider: "juspay", orderID: "ord_1", tries: 5) == nil)
            var carrying = Self.returned(.paymentSucceeded, millis: Self.base + 1, request: needs)
            carrying.event.data.transactionID = "inv_77"
            _ = try await Self.append(log, carrying)
            let job = try await Self.detail(log)
            #expect(job.check.transactionID == "inv_77")
            #expect(job.check.state == .waiting)
            #expect(job.hints.map(\.eventID) == [carrying.event.id])
        }
    }

    /// Several returns of one order in one batch: the first starts the job, the others join it.
    @Test(arguments: LogBackend.available) func oneBatchOfReturnsStartsOneJobAndLinksEveryHint(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let batch = (0..<4).map { i in Self.returned(.paymentSucceeded, order: i == 2 ? "ord_2" : "ord_1", millis: Self.base + Int64(i)) }
            let outcomes = try await GroupCommitProbe.writeBatch(log, batch).map { try $0.get() }
            #expect(outcomes.allSatisfy { $0.isStored })
            #expect(try await Self.detail(log).hints.map(\.eventID) == [batch[0], batch[1], batch[3]].map(\.event.id))
            #expect(try await Self.detail(log, "ord_2").hints.map(\.eventID) == [batch[2].event.id])
            #expect(try await log.statusCheckQueue()["juspay"]?.waiting == 2)
        }
    }

    // MARK: - Several processes (PostgreSQL)

    /// Two logs on one new database (two pools, as two processes have), and its URL.
    static func withTwoProcesses(_ body: (PostgresEventLog, PostgresEventLog, String) async throws -> Void) async throws {
        let database = try await TestPostgres.createDatabase(prefix: "cb_checks")
        var logger = Logger(label: "status-check-tests")
        logger.logLevel = .critical
        do {
            let url = try PostgresURL(parsing: database)
            let first = try await PostgresEventLog.connect(url: url, logger: logger)
            let second = try await PostgresEventLog.connect(url: url, logger: logger)
            do {
                try await body(first, second, database)
            } catch {
                await first.close()
                await second.close()
                throw error
            }
            await first.close()
            await second.close()
        } catch {
            await TestPostgres.dropDatabase(url: database)
            throw error
        }
        await TestPostgres.dropDatabase(url: database)
    }

    /// The race `ON CONFLICT DO NOTHING` closes: another process inserted the
    /// order's job and has not committed yet when a return (or an operator's
    /// request) finds no job. The insert waits for that transaction, finds
    /// the row taken, and the change goes to that row: one job, nothing lost.
    /// The interleaving is forced: the inserting transaction commits only
    /// once the other is seen waiting for a lock.
    @Test(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL"))
    func aJobInsertedMeanwhileByAnotherProcessIsJoinedNotDuplicated() async throws {
        try await Self.withTwoProcesses { holder, other, database in
            let now = SystemClock.now()
            /// Runs `body` while `holder` has inserted `order`'s job (asked by an operator) without committing.
            func whileInserted(_ order: String, _ body: @escaping @Sendable () async throws -> Void) async throws -> StatusCheck {
                var held = StatusCheck(provider: "juspay", orderID: order, createdAt: now)
                held.askedByOperator(now: now)
                let job = held
                let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
                let (gate, openGate) = AsyncStream<Void>.makeStream()
                let transaction = Task {
                    try await holder.client.withTransaction(logger: holder.logger) { connection in
                        let rows = try await PostgresStatusChecks.insert([job], now: now.millisecondsSinceEpoch, on: connection, logger: holder.logger)
                        #expect(rows.count == 1)
                        insertedSignal.yield()
                        for await _ in gate { break }
                    }
                }
                for await _ in inserted { break }
                let done = Flag()
                let racing = Task {
                    defer { done.set() }
                    try await body()
                }
                while !done.isSet {
                    let waiting = try await TestPostgres.query(url: database, """
                        SELECT count(*)::text FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                        """)
                    if waiting.first.flatMap({ $0 }).flatMap({ Int($0) }) ?? 0 > 0 { break }
                    try await Task.sleep(for: .milliseconds(1))
                }
                openGate.yield()
                openGate.finish()
                try await transaction.value
                try await racing.value
                return job
            }

            // A return finds no job, and the operator's is committed while it waits.
            let hint = Self.returned(.paymentSucceeded, order: "ord_r", millis: Self.base)
            let held = try await whileInserted("ord_r") { _ = try await other.append(hint) }
            let joined = try #require(try await other.statusCheck(provider: "juspay", orderID: "ord_r", tries: 5))
            #expect(joined.hints.map(\.eventID) == [hint.event.id])
            #expect(joined.check.createdAt == held.createdAt)
            #expect(joined.check.state == .waiting && joined.check.reason == .return && joined.check.dueAt == now)

            // An operator's request, the same.
            let asked = Mutex<StatusCheck?>(nil)
            _ = try await whileInserted("ord_q") {
                let check = try await other.requestStatusCheck(provider: "juspay", orderID: "ord_q", transactionID: "txn_q", now: now.adding(milliseconds: 1))
                asked.withLock { $0 = check }
            }
            let requested = try #require(asked.withLock { $0 })
            #expect(requested.transactionID == "txn_q" && requested.dueAt == now.adding(milliseconds: 1) && requested.createdAt == now)
            #expect(try await other.statusCheck(provider: "juspay", orderID: "ord_q", tries: 5)?.check == requested)
            for order in ["ord_r", "ord_q"] {
                #expect(try await TestPostgres.query(url: database, """
                    SELECT count(*)::text FROM status_checks WHERE provider = 'juspay' AND order_id = '\(order)'
                    """) == ["1"])
            }
        }
    }

    /// Both processes take returns of the same orders at once while one of
    /// them also answers the checks and an operator asks for them: one job
    /// per order, every return linked to it, no deadlock, no lost transition.
    @Test(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL"))
    func twoProcessesAppendingReturnsOfOneOrderMakeOneJobAndLinkEveryHint() async throws {
        try await Self.withTwoProcesses { first, second, database in
            let orders = ["ord_a", "ord_b", "ord_c"]
            let perProcess = 30
            let spaced = StatusCheckPolicy(poll: [60_000], retry: [5_000], minInterval: 1, maxRetryAfter: 60_000)
            let asking = StatusCheckRequest(asksNow: true, policy: spaced, needsTransactionID: false)
            func returns(_ process: Int) -> [IngestRecord] {
                (0..<perProcess).map { i in
                    Self.returned(.paymentSucceeded, order: orders[i % orders.count], millis: Self.base + Int64(process * 1000 + i), request: asking)
                }
            }
            let all = returns(0) + returns(1)
            let appendsDone = Flag()

            // A worker on the second process answers whatever is due until the appends are over.
            @Sendable func answerDue() async throws -> Int {
                var completions = 0
                while true {
                    let finished = appendsDone.isSet
                    let now = SystemClock.now()
                    for job in try await second.leaseStatusChecks(provider: "juspay", limit: 5, owner: "worker", leaseFor: 30_000, now: now) {
                        let said = Self.answer(.paymentPending, order: job.orderID, key: UUID().uuidString, at: now)
                        if try await second.completeStatusCheck(job, result: .answered(said, Self.attempt(at: now)), policy: spaced, now: now) != nil {
                            completions += 1
                        }
                    }
                    if finished { return completions }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            async let answered = answerDue()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for (log, records) in [(first, Array(all[..<perProcess])), (second, Array(all[perProcess...]))] {
                    for record in records {
                        group.addTask {
                            let outcome = try await log.append(record)
                            #expect(outcome.isStored(record.event.id))
                        }
                    }
                }
                for (index, order) in orders.enumerated() {
                    let log = index % 2 == 0 ? first : second
                    group.addTask {
                        _ = try await log.requestStatusCheck(provider: "juspay", orderID: order, transactionID: nil, now: SystemClock.now())
                    }
                }
                try await group.waitForAll()
            }
            appendsDone.set()
            let completions = try await answered
            // Each order was answered at least once: during the appends, or in the worker's last pass.
            #expect(completions >= orders.count)

            for order in orders {
                #expect(try await TestPostgres.query(url: database, """
                    SELECT count(*)::text FROM status_checks WHERE provider = 'juspay' AND order_id = '\(order)'
                    """) == ["1"])
                let detail = try #require(try await first.statusCheck(provider: "juspay", orderID: order, tries: 1000))
                let expected = all.filter { $0.event.data.orderID == order }.map(\.event.id)
                #expect(Set(detail.hints.map(\.eventID)) == Set(expected))
                #expect(detail.hints.count == expected.count)
                // Every answered hint names an answer that was stored; every try is counted on the job.
                #expect(detail.check.tries == Int64(detail.tries.count))
                for hint in detail.hints { if let by = hint.answeredBy { #expect(try await first.event(id: by) != nil) } }
            }
            #expect(try await TestPostgres.query(url: database, "SELECT count(*)::text FROM status_check_hints") == [String(all.count)])
            #expect(try await TestPostgres.query(url: database, "SELECT coalesce(sum((status_check::json->>'answers')::int8), 0)::text FROM status_checks")
                == [String(completions)])
        }
    }
}
