import CallbridgeModel
import Testing

/// The order ledger's transition type (README, "Order truth"): every pair of
/// states, hints against verified events, amounts in different spellings,
/// refunds beyond what was paid, disputes. The expected tables are written
/// out by hand here, independently of the implementation's ranks.
@Suite("Order ledger transitions")
struct OrderLedgerTests {
    static let received = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!

    static func event(_ type: EventType, verified: Bool = true, amount: String? = nil, currency: String? = nil,
                      refundID: String? = nil, orderAmount: String? = nil, seconds: Int64 = 0) -> Event {
        let data = EventData(
            provider: "juspay", route: "webhook", channel: verified ? .callback : .redirect, verified: verified,
            verification: verified ? .basicAuth : .none, orderID: "ord_1", amount: amount.flatMap(DecimalAmount.init),
            currency: currency.flatMap(CurrencyCode.init), receivedAt: received.adding(milliseconds: seconds * 1000),
            refundID: refundID, orderAmount: orderAmount.flatMap(DecimalAmount.init)
        )
        return Event(id: EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000), type: type, timestamp: received, data: data)
    }

    static func entry(in state: OrderState) -> OrderLedgerEntry {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        entry.paymentState = state
        entry.state = state
        return entry
    }

    // MARK: Payments: every pair

    static let paymentTargets: [(EventType, OrderState)] = [
        (.paymentCreated, .created), (.paymentPending, .pending), (.paymentAuthorized, .authorized), (.paymentFailed, .failed),
        (.paymentCancelled, .cancelled), (.paymentExpired, .expired), (.paymentSucceeded, .succeeded),
    ]

    /// Rows: the order's payment state; columns: created, pending, authorized,
    /// failed, cancelled, expired, succeeded. A = advanced, R = repeated, S = stale.
    static let paymentTable: [(OrderState, String)] = [
        (.unknown, "AAAAAAA"),
        (.created, "RAAAAAA"),
        (.pending, "SRAAAAA"),
        (.authorized, "SSRAAAA"),
        (.failed, "SSSRAAA"),
        (.cancelled, "SSSARAA"),
        (.expired, "SSSAARA"),
        (.succeeded, "SSSSSSR"),
        (.partiallyRefunded, "SSSSSSR"),
        (.refunded, "SSSSSSR"),
    ]

    static func letter(_ transition: OrderTransition) -> Character {
        switch transition {
        case .advanced: return "A"
        case .repeated: return "R"
        case .stale: return "S"
        case .conflict: return "C"
        }
    }

    @Test("every payment state against every payment event, verified", arguments: paymentTable)
    func paymentPairs(from state: OrderState, expected: String) {
        for ((type, target), want) in zip(Self.paymentTargets, expected) {
            var entry = Self.entry(in: state)
            let placement = OrderLedger.place(Self.event(type), in: &entry)
            #expect(Self.letter(placement.transition) == want, "\(state.rawValue) + \(type.rawValue)")
            #expect(placement.previousState == state)
            let moved = want == "A"
            #expect(entry.state == (moved ? target : state), "\(state.rawValue) + \(type.rawValue) left \(entry.state.rawValue)")
            #expect(placement.state == entry.state)
            #expect(placement.mismatch.isEmpty)
        }
    }

    @Test("the same pairs as hints: classified the same, nothing moves", arguments: paymentTable)
    func paymentPairsAsHints(from state: OrderState, expected: String) {
        for ((type, _), want) in zip(Self.paymentTargets, expected) {
            var entry = Self.entry(in: state)
            let before = entry
            let placement = OrderLedger.place(Self.event(type, verified: false), in: &entry)
            #expect(Self.letter(placement.transition) == want, "hint \(state.rawValue) + \(type.rawValue)")
            #expect(placement.state == state && placement.previousState == state)
            #expect(entry.state == before.state && entry.paymentState == before.paymentState)
            #expect(entry.counts.hints == 1 && entry.counts.verified == 0 && entry.counts.events == 1)
            #expect(entry.lastChangeEventID == nil)
        }
    }

    @Test("a late pending after success is stale and leaves the order paid; a retry after failure succeeds")
    func story() {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        let steps: [(EventType, OrderTransition, OrderState)] = [
            (.paymentCreated, .advanced, .created), (.paymentFailed, .advanced, .failed), (.paymentPending, .stale, .failed),
            (.paymentSucceeded, .advanced, .succeeded), (.paymentPending, .stale, .succeeded), (.paymentAuthorized, .stale, .succeeded),
            (.paymentCreated, .stale, .succeeded), (.paymentSucceeded, .repeated, .succeeded), (.paymentFailed, .stale, .succeeded),
        ]
        for (index, (type, transition, state)) in steps.enumerated() {
            let placement = OrderLedger.place(Self.event(type, seconds: Int64(index)), in: &entry)
            #expect(placement.sequence == Int64(index + 1))
            #expect(placement.transition == transition, "step \(index + 1) \(type.rawValue)")
            #expect(entry.state == state)
        }
        #expect(entry.counts.events == 9 && entry.counts.advanced == 3 && entry.counts.stale == 5 && entry.counts.repeated == 1)
        #expect(entry.firstSeenAt == Self.received && entry.lastSeenAt == Self.received.adding(milliseconds: 8000))
    }

    // MARK: Refunds

    /// Rows: a refund's known status (nil: new); columns: pending, succeeded, failed.
    static let refundTable: [(OrderRefund.Status?, String)] = [
        (nil, "AAA"), (.pending, "RAA"), (.succeeded, "SRS"), (.failed, "SAR"),
    ]

    @Test("every refund status against every refund event", arguments: refundTable)
    func refundPairs(from status: OrderRefund.Status?, expected: String) {
        let types: [EventType] = [.refundPending, .refundSucceeded, .refundFailed]
        for (type, want) in zip(types, expected) {
            var entry = Self.entry(in: .succeeded)
            entry.paidAmount = DecimalAmount("100.00")
            if let status { entry.refunds["rfd_1"] = OrderRefund(status: status, amount: DecimalAmount("10.00")) }
            if status == .succeeded { entry.refundedAmount = DecimalAmount("10.00")!; entry.paymentState = .partiallyRefunded; entry.state = .partiallyRefunded }
            let placement = OrderLedger.place(Self.event(type, amount: "10.00", refundID: "rfd_1"), in: &entry)
            #expect(Self.letter(placement.transition) == want, "\(status?.rawValue ?? "new") + \(type.rawValue)")
            let counted = status == .succeeded || (want == "A" && type == .refundSucceeded)
            #expect(entry.refundedAmount.isEqualInValue(to: DecimalAmount(counted ? "10" : "0")!), "\(status?.rawValue ?? "new") + \(type.rawValue)")
        }
    }

    @Test("refunds add up, are counted once per refund, and never exceed what was paid")
    func refundsBeyondPaid() {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = OrderLedger.place(Self.event(.paymentSucceeded, amount: "100.00", currency: "USD"), in: &entry)
        #expect(entry.paidAmount?.text == "100.00")

        var p = OrderLedger.place(Self.event(.refundSucceeded, amount: "60", currency: "USD", refundID: "r1"), in: &entry)
        #expect(p.transition == .advanced && entry.state == .partiallyRefunded)
        p = OrderLedger.place(Self.event(.refundSucceeded, amount: "60", currency: "USD", refundID: "r1"), in: &entry)
        #expect(p.transition == .repeated && entry.refundedAmount.text == "60")

        p = OrderLedger.place(Self.event(.refundSucceeded, amount: "50.5", currency: "USD", refundID: "r2"), in: &entry)
        #expect(p.transition == .conflict)
        #expect(p.mismatch == [OrderMismatch(field: "refunded_amount", expected: "100.00", got: "110.5")])
        #expect(entry.refundedAmount.text == "60" && entry.state == .partiallyRefunded && entry.hasMismatch && entry.counts.mismatches == 1)

        p = OrderLedger.place(Self.event(.refundPending, amount: "150", currency: "USD", refundID: "r3"), in: &entry)
        #expect(p.transition == .conflict && p.mismatch.first?.field == "amount")

        p = OrderLedger.place(Self.event(.refundSucceeded, amount: "40.00", currency: "USD", refundID: "r4"), in: &entry)
        #expect(p.transition == .advanced && entry.state == .refunded && entry.refundedAmount.text == "100.00")
        #expect(entry.counts.conflicts == 2)
    }

    @Test("a verified refund without a seen success still makes the order refunded, bounded by the registered amount")
    func refundBeforeSuccess() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = try OrderLedger.register(amount: DecimalAmount("20")!, currency: CurrencyCode("EUR")!, at: Self.received, in: &entry)
        var p = OrderLedger.place(Self.event(.refundSucceeded, amount: "5", currency: "EUR", refundID: "a"), in: &entry)
        #expect(p.transition == .advanced && p.previousState == .unknown && entry.state == .partiallyRefunded)
        p = OrderLedger.place(Self.event(.refundSucceeded, amount: "20", currency: "EUR", refundID: "b"), in: &entry)
        #expect(p.transition == .conflict && p.mismatch == [OrderMismatch(field: "refunded_amount", expected: "20", got: "25")])
        p = OrderLedger.place(Self.event(.paymentSucceeded, amount: "20.00", currency: "EUR"), in: &entry)
        #expect(p.transition == .repeated && entry.state == .partiallyRefunded)
    }

    // MARK: Amounts and currency

    @Test("registered amounts compare as decimals: 100, 100.0 and 100.00 agree; 1.00 conflicts and moves nothing",
          arguments: ["100", "100.0", "100.00", "0100.000"])
    func amountSpellings(_ spelling: String) throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        let registration = try OrderLedger.register(amount: DecimalAmount("100.00")!, currency: CurrencyCode("usd")!, at: Self.received, in: &entry)
        #expect(registration.created && registration.mismatch.isEmpty)
        _ = OrderLedger.place(Self.event(.paymentPending, amount: spelling, currency: "USD"), in: &entry)
        let bad = OrderLedger.place(Self.event(.paymentSucceeded, amount: "1.00", currency: "USD"), in: &entry)
        #expect(bad.transition == .conflict)
        #expect(bad.mismatch == [OrderMismatch(field: "amount", expected: "100.00", got: "1.00")])
        #expect(bad.state == .pending && entry.state == .pending && entry.paidAmount == nil)
        let good = OrderLedger.place(Self.event(.paymentSucceeded, amount: spelling, currency: "USD"), in: &entry)
        #expect(good.transition == .advanced && entry.state == .succeeded)
        #expect(entry.counts.conflicts == 1 && entry.hasMismatch)
    }

    @Test("without a registration the first verified amount is the reference; hints do not set it")
    func firstVerifiedAmount() {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        let hint = OrderLedger.place(Self.event(.paymentPending, verified: false, amount: "5.00", currency: "USD"), in: &entry)
        #expect(hint.transition == .advanced && entry.amount == nil)
        _ = OrderLedger.place(Self.event(.paymentPending, amount: "42.50", currency: "USD"), in: &entry)
        #expect(entry.amount?.text == "42.50")
        let other = OrderLedger.place(Self.event(.paymentSucceeded, amount: "42.5", currency: "EUR"), in: &entry)
        #expect(other.transition == .conflict && other.mismatch == [OrderMismatch(field: "currency", expected: "USD", got: "EUR")])
        let forged = OrderLedger.place(Self.event(.paymentSucceeded, verified: false, amount: "1", currency: "USD"), in: &entry)
        #expect(forged.transition == .conflict && forged.state == .pending && entry.counts.conflicts == 1)
    }

    @Test("registering again: the same amount in another spelling is unchanged, another amount is refused")
    func registration() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = OrderLedger.place(Self.event(.paymentSucceeded, amount: "99.00", currency: "USD"), in: &entry)
        let first = try OrderLedger.register(amount: DecimalAmount("100")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        #expect(first.created && first.mismatch == [OrderMismatch(field: "amount", expected: "100", got: "99.00")])
        let again = try OrderLedger.register(amount: DecimalAmount("100.00")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        #expect(!again.created)
        #expect(throws: OrderRegistrationError.self) {
            try OrderLedger.register(amount: DecimalAmount("100.01")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        }
        #expect(throws: OrderRegistrationError.self) {
            try OrderLedger.register(amount: DecimalAmount("100")!, currency: CurrencyCode("EUR")!, at: Self.received, in: &entry)
        }
        #expect(entry.expectedAmount?.text == "100")
    }

    // MARK: Disputes and unmapped

    @Test("a dispute overlays the paid state until it closes; a chargeback's further steps repeat; an opening after its closing is stale")
    func disputes() {
        var entry = Self.entry(in: .succeeded)
        var p = OrderLedger.place(Self.event(.disputeOpened), in: &entry)
        #expect(p.transition == .advanced && entry.state == .disputed && entry.paymentState == .succeeded)
        // CHARGEBACK_UNDER_REVIEW, CHARGEBACK_EVIDENCE_REQUIRED: the same dispute.
        p = OrderLedger.place(Self.event(.disputeOpened), in: &entry)
        #expect(p.transition == .repeated && entry.state == .disputed)
        p = OrderLedger.place(Self.event(.paymentPending), in: &entry)
        #expect(p.transition == .stale && entry.state == .disputed)
        p = OrderLedger.place(Self.event(.disputeClosed), in: &entry)
        #expect(p.transition == .advanced && entry.state == .succeeded)
        p = OrderLedger.place(Self.event(.disputeClosed), in: &entry)
        #expect(p.transition == .repeated && entry.state == .succeeded)
        // A new chargeback later is a new dispute.
        p = OrderLedger.place(Self.event(.disputeOpened), in: &entry)
        #expect(p.transition == .advanced && entry.state == .disputed)

        var reordered = Self.entry(in: .succeeded)
        p = OrderLedger.place(Self.event(.disputeClosed), in: &reordered)
        #expect(p.transition == .advanced && reordered.state == .succeeded)
        p = OrderLedger.place(Self.event(.disputeOpened), in: &reordered)
        #expect(p.transition == .stale && reordered.state == .succeeded)
        p = OrderLedger.place(Self.event(.disputeOpened), in: &reordered)
        #expect(p.transition == .advanced && reordered.state == .disputed)
    }

    @Test("a late step with another amount stays stale (never reaches a default endpoint) and is still counted as a mismatch")
    func staleMismatchStaysStale() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = try OrderLedger.register(amount: DecimalAmount("100.00")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        _ = OrderLedger.place(Self.event(.paymentSucceeded, amount: "100.00", currency: "USD"), in: &entry)
        let late = OrderLedger.place(Self.event(.paymentPending, amount: "102.00", currency: "USD"), in: &entry)
        #expect(late.transition == .stale && !OrderEventsPolicy.forward.admits(late))
        #expect(late.mismatch == [OrderMismatch(field: "amount", expected: "100.00", got: "102.00")])
        #expect(entry.state == .succeeded && entry.counts.mismatches == 1 && entry.counts.conflicts == 0 && entry.hasMismatch)
        let repeatedCheap = OrderLedger.place(Self.event(.paymentSucceeded, amount: "1.00", currency: "USD"), in: &entry)
        #expect(repeatedCheap.transition == .conflict && entry.counts.mismatches == 2 && entry.counts.conflicts == 1)
    }

    @Test("registering after the provider reported another amount flags the order")
    func lateRegistrationFlags() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = OrderLedger.place(Self.event(.paymentSucceeded, amount: "1.00", currency: "USD"), in: &entry)
        #expect(!entry.hasMismatch)
        let registration = try OrderLedger.register(amount: DecimalAmount("100.00")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        #expect(registration.mismatch.count == 1 && entry.hasMismatch)
    }

    @Test("a rebuild replaces an event's old form instead of applying the new one on top: a refund whose key changed counts once")
    func rebuild() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        var paid = Self.event(.paymentSucceeded, amount: "100.00", currency: "USD")
        paid.data.order = OrderLedger.place(paid, in: &entry)
        // Read without its refund id first (keyed by our event id), then re-normalized with it.
        var refund = Self.event(.refundSucceeded, amount: "60.00", currency: "USD", seconds: 1)
        refund.data.order = OrderLedger.place(refund, in: &entry)
        var fixed = refund
        fixed.data.refundID = "rfd_1"
        fixed.data.order = nil
        let histories = [OrderEventHistory(current: paid, earlier: []), OrderEventHistory(current: fixed, earlier: [refund])]
        let (rebuilt, placement) = OrderLedger.rebuild(entry, histories: histories, revised: refund.id)
        #expect(rebuilt.refundedAmount.text == "60.00" && rebuilt.refunds.keys.sorted() == ["rfd_1"])
        #expect(rebuilt.state == .partiallyRefunded)
        #expect(placement == OrderPlacement(sequence: 3, state: .partiallyRefunded, previousState: .succeeded, transition: .advanced))
        #expect(rebuilt.counts.events == 3 && rebuilt.counts.verified == 2)
        // Applying the fixed form on top instead counts the refund twice: a false refunded_amount conflict.
        var onTop = entry
        let wrong = OrderLedger.place(fixed, in: &onTop)
        #expect(wrong.transition == .conflict && wrong.mismatch.first?.got == "120.00")
        // Without the event (it moved to another order), the entry is rebuilt from the rest, nothing placed.
        let (left, none) = OrderLedger.rebuild(entry, histories: [OrderEventHistory(current: paid, earlier: [])], revised: nil)
        #expect(none == nil && left.state == .succeeded && left.refundedAmount.text == "0" && left.counts.events == 2)
    }

    @Test("unmapped events never move the order and still count as forward", arguments: [OrderState.unknown, .pending, .succeeded, .refunded])
    func unmapped(_ state: OrderState) {
        var entry = Self.entry(in: state)
        let p = OrderLedger.place(Self.event(.unmapped, amount: "1.00", currency: "XYZ"), in: &entry)
        #expect(p.transition == .advanced && p.state == state && entry.state == state && p.mismatch.isEmpty)
    }

    // MARK: Policy and encoding

    @Test("order_events forward admits advanced and conflict, and events without an order")
    func policy() {
        func placed(_ t: OrderTransition) -> OrderPlacement {
            OrderPlacement(sequence: 1, state: .succeeded, previousState: .succeeded, transition: t,
                           mismatch: t == .conflict ? [OrderMismatch(field: "amount", expected: "1", got: "2")] : [])
        }
        #expect(OrderEventsPolicy.forward.admits(nil))
        #expect(OrderEventsPolicy.forward.admits(placed(.advanced)) && OrderEventsPolicy.forward.admits(placed(.conflict)))
        #expect(!OrderEventsPolicy.forward.admits(placed(.stale)) && !OrderEventsPolicy.forward.admits(placed(.repeated)))
        #expect(OrderTransition.allCases.allSatisfy { OrderEventsPolicy.all.admits(placed($0)) })
    }

    @Test("a ledger entry and a placement survive their JSON")
    func encoding() throws {
        var entry = OrderLedgerEntry(provider: "juspay", orderID: "ord_1")
        _ = try OrderLedger.register(amount: DecimalAmount("100.00")!, currency: CurrencyCode("USD")!, at: Self.received, in: &entry)
        _ = OrderLedger.place(Self.event(.paymentSucceeded, amount: "100", currency: "USD"), in: &entry)
        _ = OrderLedger.place(Self.event(.refundSucceeded, amount: "-10", currency: "USD", refundID: "r1"), in: &entry)
        let p = OrderLedger.place(Self.event(.disputeOpened), in: &entry)
        #expect(try OrderLedgerEntry(json: JSONParser().parse(entry.json.rendered())) == entry)
        #expect(try OrderPlacement(json: JSONParser().parse(p.json.rendered())) == p)
        #expect(entry.refundedAmount.text == "10" && entry.state == .disputed)

        var event = Self.event(.paymentSucceeded)
        event.data.order = p
        #expect(try Event(envelopeBytes: event.envelopeBytes) == event)
    }

    // MARK: Decimal arithmetic

    @Test("decimal comparison and addition are exact at any length")
    func decimals() {
        func d(_ s: String) -> DecimalAmount { DecimalAmount(s)! }
        #expect(d("100").isEqualInValue(to: d("100.000")) && d("-0").isEqualInValue(to: d("0.00")))
        #expect(d("99.999").compareValue(d("100")) < 0 && d("-1").compareValue(d("0.5")) < 0 && d("-2").compareValue(d("-1")) < 0)
        #expect(d("100.00").addingMagnitude(d("5.5")).text == "105.50")
        #expect(d("0.99").addingMagnitude(d("0.01")).text == "1.00")
        let huge = String(repeating: "9", count: 60)
        #expect(d(huge).addingMagnitude(d("1")).text == "1" + String(repeating: "0", count: 60))
        #expect(d(huge).compareValue(d(huge + ".0000001")) < 0)
        #expect(DecimalAmount.plain("100.00")?.text == "100.00")
        for bad in ["", "-1", "+1", " 1", "1,00", "1.", ".5", "1e3", "1.2.3"] { #expect(DecimalAmount.plain(bad) == nil, "\(bad)") }
    }
}
