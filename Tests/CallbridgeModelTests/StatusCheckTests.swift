import CallbridgeModel
import Testing

/// The status-check job's lifecycle (`StatusCheck`): idle → waiting → leased
/// → waiting (retry, next poll) or idle, with the coalescing and spacing rules.
@Suite struct StatusCheckMachineTests {
    let policy = StatusCheckPolicy(poll: [60_000, 120_000], retry: [1_000, 5_000], minInterval: 10_000)
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    func at(_ ms: Int64) -> Timestamp { t0.adding(milliseconds: ms) }

    func event(_ type: EventType = .paymentSucceeded, ms: Int64 = 0) -> EventID {
        EventID.generate(millisecondsSinceEpoch: UInt64(t0.millisecondsSinceEpoch + ms))
    }

    @Test("a return makes an idle job due now; a second return while it waits or is leased joins it")
    func returnsCoalesce() {
        var check = StatusCheck(provider: "luxfin", orderID: "o1", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        #expect(check.state == .waiting && check.dueAt == t0 && check.reason == .return)
        check.askedByReturn(now: at(500), policy: policy)
        #expect(check.dueAt == t0, "a waiting job is not pushed later")
        check.lease(owner: "a", until: at(30_000))
        let leased = check
        check.askedByReturn(now: at(600), policy: policy)
        #expect(check == leased, "a leased job is joined, unchanged")
    }

    @Test("a return after an answer waits min_interval from the last try")
    func minimumSpacing() {
        var check = StatusCheck(provider: "luxfin", orderID: "o1", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        check.lease(owner: "a", until: at(30_000))
        check.answered(now: at(1_000), eventID: event(), orderAwaitsPayment: false, policy: policy)
        #expect(check.state == .idle && check.answers == 1 && check.tries == 1)
        check.askedByReturn(now: at(2_000), policy: policy)
        #expect(check.state == .waiting && check.dueAt == at(11_000))
        check.askedByOperator(now: at(3_000))
        #expect(check.dueAt == at(3_000) && check.reason == .manual, "an operator is not spaced")
    }

    @Test("an answer while the order awaits payment walks the poll schedule, then stops")
    func pollSchedule() {
        var check = StatusCheck(provider: "juspay", orderID: "o2", createdAt: t0)
        check.orderAwaitsPayment(now: t0, advanced: true, policy: policy)
        #expect(check.state == .waiting && check.dueAt == at(60_000) && check.reason == .poll && check.pollNext == 1)
        check.lease(owner: "a", until: at(90_000))
        check.answered(now: at(61_000), eventID: event(), orderAwaitsPayment: true, policy: policy)
        #expect(check.state == .waiting && check.dueAt == at(181_000) && check.pollNext == 2)
        check.lease(owner: "a", until: at(200_000))
        check.answered(now: at(182_000), eventID: event(), orderAwaitsPayment: true, policy: policy)
        #expect(check.state == .idle && check.pollNext == nil, "the schedule is over")
        check.orderAwaitsPayment(now: at(190_000), advanced: false, policy: policy)
        #expect(check.state == .waiting, "not polling any more: a new pending event starts it again")
    }

    @Test("a repeated pending event does not restart a running schedule; an advance does, and brings the poll forward")
    func advanceRestarts() {
        var check = StatusCheck(provider: "juspay", orderID: "o3", createdAt: t0)
        check.orderAwaitsPayment(now: t0, advanced: true, policy: policy)
        check.lease(owner: "a", until: at(90_000))
        check.answered(now: at(60_000), eventID: event(), orderAwaitsPayment: true, policy: policy)
        #expect(check.dueAt == at(180_000) && check.pollNext == 2)
        check.orderAwaitsPayment(now: at(61_000), advanced: false, policy: policy)
        #expect(check.dueAt == at(180_000) && check.pollNext == 2)
        check.orderAwaitsPayment(now: at(62_000), advanced: true, policy: policy)
        #expect(check.dueAt == at(122_000) && check.pollNext == 1)
    }

    @Test("a return answered while the order awaits payment starts polling after the answer")
    func returnThenPoll() {
        var check = StatusCheck(provider: "juspay", orderID: "o4", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        check.orderAwaitsPayment(now: t0, advanced: true, policy: policy)
        #expect(check.dueAt == t0 && check.pollNext == 0, "the return's check comes first")
        check.lease(owner: "a", until: at(30_000))
        check.answered(now: at(500), eventID: event(), orderAwaitsPayment: true, policy: policy)
        #expect(check.dueAt == at(60_500) && check.pollNext == 1)
    }

    @Test("retryable failures follow the retry schedule (Retry-After may push later, capped), then the run ends")
    func retries() {
        var check = StatusCheck(provider: "luxfin", orderID: "o5", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        check.lease(owner: "a", until: at(30_000))
        #expect(check.failed(now: at(100), retryable: true, retryAfter: nil, error: "HTTP 503", policy: policy) == .retry)
        #expect(check.state == .waiting && check.dueAt == at(1_100) && check.failures == 1)
        check.lease(owner: "a", until: at(40_000))
        #expect(check.failed(now: at(2_000), retryable: true, retryAfter: 9_000_000, error: "HTTP 429", policy: policy) == .retry)
        #expect(check.dueAt == at(2_000 + 3_600_000), "Retry-After is capped at max_retry_after")
        check.lease(owner: "a", until: at(4_000_000))
        #expect(check.failed(now: at(3_700_000), retryable: true, retryAfter: nil, error: "timeout", policy: policy) == .gaveUp)
        #expect(check.state == .idle && check.failures == 0 && check.lastError == "timeout" && check.tries == 3)
    }

    @Test("returns during a retry's wait join it without shortening the backoff; during a poll's wait they bring it forward")
    func returnsDoNotShortenBackoff() {
        var check = StatusCheck(provider: "luxfin", orderID: "o5b", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        check.lease(owner: "a", until: at(30_000))
        check.failed(now: at(100), retryable: true, retryAfter: 600_000, error: "HTTP 429", policy: policy)
        check.askedByReturn(now: at(20_000), policy: policy)
        #expect(check.dueAt == at(600_100) && check.reason == .return)

        var polled = StatusCheck(provider: "juspay", orderID: "o5c", createdAt: t0)
        polled.orderAwaitsPayment(now: t0, advanced: true, policy: policy)
        polled.askedByReturn(now: at(1_000), policy: policy)
        #expect(polled.dueAt == at(1_000) && polled.reason == .return)
    }

    @Test("a final failure ends the run at once but polling goes on")
    func finalFailureKeepsPolling() {
        var check = StatusCheck(provider: "juspay", orderID: "o6", createdAt: t0)
        check.orderAwaitsPayment(now: t0, advanced: true, policy: policy)
        check.lease(owner: "a", until: at(90_000))
        #expect(check.failed(now: at(60_000), retryable: false, retryAfter: nil, error: "HTTP 404", policy: policy) == .failed)
        #expect(check.state == .waiting && check.dueAt == at(180_000) && check.lastOutcome == .failed)
    }

    @Test("leases fence: each lease has a new generation; an expired lease is due again")
    func leasing() {
        var check = StatusCheck(provider: "luxfin", orderID: "o7", createdAt: t0)
        check.askedByReturn(now: t0, policy: policy)
        #expect(check.isDue(now: t0))
        check.lease(owner: "a", until: at(4_000))
        let first = check.leaseGeneration
        #expect(!check.isDue(now: at(3_999)) && check.isDue(now: at(4_000)))
        check.lease(owner: "b", until: at(8_000))
        #expect(check.leaseGeneration == first + 1 && check.leaseOwner == "b")
        check.skipped()
        #expect(check.state == .idle && check.leaseOwner == nil && check.dueAt == nil && check.lastOutcome == .skipped)
    }

    @Test("the JSON form round-trips and refuses an inconsistent state")
    func jsonRoundTrip() throws {
        var check = StatusCheck(provider: "nonstopay", orderID: "o8", createdAt: t0)
        check.transactionID = "185"
        check.askedByReturn(now: t0, policy: policy)
        check.lease(owner: "host-1-abc", until: at(4_000))
        check.answered(now: at(10), eventID: event(), orderAwaitsPayment: true, policy: policy)
        #expect(try StatusCheck(json: try JSONParser().parse(check.json.rendered())) == check)
        guard case .object(var members) = check.json else { Issue.record("not an object"); return }
        members = members.map { $0.0 == "due_at" ? ($0.0, .null) : $0 }
        #expect(throws: EventDecodingError.self) { try StatusCheck(json: .object(members)) }
    }

    @Test("verdicts: same type and money confirm; each difference is named; one-sided amounts are not differences")
    func verdicts() throws {
        let hint = StatusCheckHint(eventID: event(), type: .paymentSucceeded, amount: DecimalAmount("25.5"), currency: CurrencyCode("USD"), receivedAt: t0)
        func answer(_ type: EventType, _ amount: String?, _ currency: String?) -> Event {
            Event(id: event(ms: 5), type: type, timestamp: t0, data: EventData(
                provider: "luxfin", route: "status_check", channel: .statusCheck, verified: true, verification: .providerAPI,
                orderID: "o9", transactionID: nil, providerEventID: nil, providerStatus: "PENDING", amount: amount.flatMap(DecimalAmount.init),
                currency: currency.flatMap(CurrencyCode.init), customer: nil, merchantData: nil, occurredAt: nil, receivedAt: t0))
        }
        #expect(StatusCheckVerdict.compare(hint, with: answer(.paymentSucceeded, "25.50", "USD")) == .confirmed)
        #expect(StatusCheckVerdict.compare(hint, with: answer(.paymentSucceeded, nil, nil)) == .confirmed)
        guard case .differs(let list) = StatusCheckVerdict.compare(hint, with: answer(.paymentPending, "1.00", "EUR")) else {
            Issue.record("expected differs"); return
        }
        #expect(list.count == 3)
        #expect(list[0].contains("payment.pending (PENDING)"))
        let stored = StatusCheckVerdict.differs(list)
        #expect(StatusCheckVerdict(label: stored.label, detail: stored.detail) == stored)
    }
}
