/// One order as the ledger holds it: one row per (provider, order id) in
/// the `orders` table of either log, changed only by `OrderLedger`.
///
/// Invariants: `state == .disputed` exactly when `disputeOpen`, otherwise
/// `state == paymentState`; `paymentState` is
/// never `.disputed`; `refundedAmount` is the sum of the `succeeded`
/// refunds' amounts; `counts.events` is the last placement's sequence.
public struct OrderLedgerEntry: Sendable, Hashable {
    public var provider: String
    public var orderID: String
    public var state: OrderState = .unknown
    /// The payment lattice alone, without a dispute overlay.
    public var paymentState: OrderState = .unknown
    /// What the provider reported: the first verified payment event's amount and currency.
    public var amount: DecimalAmount?
    public var currency: CurrencyCode?
    /// What the merchant registered (`POST /admin/v1/orders`), if it did.
    public var expectedAmount: DecimalAmount?
    public var expectedCurrency: CurrencyCode?
    public var registeredAt: Timestamp?
    /// The amount of the verified `payment.succeeded` that made the order paid.
    public var paidAmount: DecimalAmount?
    public var refundedAmount: DecimalAmount = .zero
    /// Refunds by key (the provider's refund id, else its event id, else ours).
    public var refunds: [String: OrderRefund] = [:]
    /// Verified `dispute.opened` / `dispute.closed` events placed (informational).
    public var disputesOpened: Int = 0
    public var disputesClosed: Int = 0
    /// A dispute is open: opened and not closed since.
    public var disputeOpen = false
    /// Closings that arrived before any opening: the next opening is their
    /// dispute's, late (stale), not a new one.
    public var unmatchedClosings: Int = 0
    /// `received_at` of the first and the latest placed event.
    public var firstSeenAt: Timestamp?
    public var lastSeenAt: Timestamp?
    /// The last event whose transition was `advanced`.
    public var lastChangeEventID: EventID?
    public var counts = OrderCounts()

    public init(provider: String, orderID: String) {
        self.provider = provider
        self.orderID = orderID
    }

    /// Whether any verified event of this order (or the registration, when
    /// the provider had reported otherwise) disagreed on its money.
    public var hasMismatch: Bool { counts.mismatches > 0 }

    /// What amounts are checked against: the registered amount, else the first reported one.
    public var referenceAmount: DecimalAmount? { expectedAmount ?? amount }
    public var referenceCurrency: CurrencyCode? { expectedCurrency ?? currency }
}

/// One refund of an order, as its latest verified event left it.
public struct OrderRefund: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case pending, succeeded, failed
    }

    public var status: Status
    /// The refund's amount, unsigned; nil when the provider did not say.
    public var amount: DecimalAmount?

    public init(status: Status, amount: DecimalAmount?) {
        self.status = status
        self.amount = amount
    }
}

/// How many events an order's story holds, by kind. Saturating counters.
public struct OrderCounts: Sendable, Hashable {
    /// Every placement (verified or not): the last sequence number.
    public var events: Int64 = 0
    public var verified: Int64 = 0
    public var hints: Int64 = 0
    /// Verified placements by transition.
    public var advanced: Int64 = 0
    public var repeated: Int64 = 0
    public var stale: Int64 = 0
    public var conflicts: Int64 = 0
    /// Verified placements with a mismatch (conflicts and stale ones), and a
    /// registration that disagreed with what was reported already.
    public var mismatches: Int64 = 0

    public init() {}
}

// MARK: - JSON (the ledger column, the admin API and `orders show --json`)

extension OrderLedgerEntry {
    public var json: JSONValue {
        func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func num(_ n: Int64) -> JSONValue { .number(String(n)) }
        return .object([
            ("provider", .string(provider)),
            ("order_id", .string(orderID)),
            ("state", .string(state.rawValue)),
            ("payment_state", .string(paymentState.rawValue)),
            ("amount", str(amount?.text)),
            ("currency", str(currency?.code)),
            ("expected_amount", str(expectedAmount?.text)),
            ("expected_currency", str(expectedCurrency?.code)),
            ("registered_at", str(registeredAt?.rfc3339)),
            ("paid_amount", str(paidAmount?.text)),
            ("refunded_amount", .string(refundedAmount.text)),
            ("refunds", .object(refunds.keys.sorted().map { key in
                let refund = refunds[key]!
                return (key, .object([("status", .string(refund.status.rawValue)), ("amount", str(refund.amount?.text))]))
            })),
            ("disputes_opened", num(Int64(disputesOpened))),
            ("disputes_closed", num(Int64(disputesClosed))),
            ("dispute_open", .bool(disputeOpen)),
            ("unmatched_closings", num(Int64(unmatchedClosings))),
            ("mismatch", .bool(hasMismatch)),
            ("first_seen_at", str(firstSeenAt?.rfc3339)),
            ("last_seen_at", str(lastSeenAt?.rfc3339)),
            ("last_change_event_id", str(lastChangeEventID?.rawValue)),
            ("counts", .object([
                ("events", num(counts.events)), ("verified", num(counts.verified)), ("hints", num(counts.hints)),
                ("advanced", num(counts.advanced)), ("repeated", num(counts.repeated)), ("stale", num(counts.stale)),
                ("conflicts", num(counts.conflicts)), ("mismatches", num(counts.mismatches)),
            ])),
        ])
    }

    /// Reads what `json` wrote (a ledger row read back).
    public init(json: JSONValue) throws(EventDecodingError) {
        let reader = JSONMemberReader(json: json, prefix: "order")
        let text = reader.text, amount = reader.amount, currency = reader.currency, time = reader.time
        guard let provider = try text("provider"), let orderID = try text("order_id") else { throw .invalid("order.provider") }
        self.init(provider: provider, orderID: orderID)
        guard let s = try text("state"), let state = OrderState(rawValue: s) else { throw .invalid("order.state") }
        guard let p = try text("payment_state"), let payment = OrderState(rawValue: p), payment != .disputed else {
            throw .invalid("order.payment_state")
        }
        self.state = state
        self.paymentState = payment
        self.amount = try amount("amount")
        self.currency = try currency("currency")
        self.expectedAmount = try amount("expected_amount")
        self.expectedCurrency = try currency("expected_currency")
        self.registeredAt = try time("registered_at")
        self.paidAmount = try amount("paid_amount")
        self.refundedAmount = try amount("refunded_amount") ?? .zero
        if case .object(let members)? = json["refunds"] {
            for (key, value) in members {
                guard let s = value["status"]?.stringValue, let status = OrderRefund.Status(rawValue: s) else { throw .invalid("order.refunds") }
                var refundAmount: DecimalAmount?
                if let a = value["amount"]?.stringValue {
                    guard let parsed = DecimalAmount(a) else { throw .invalid("order.refunds") }
                    refundAmount = parsed
                }
                refunds[key] = OrderRefund(status: status, amount: refundAmount)
            }
        }
        self.disputesOpened = Int(try reader.requiredCount("disputes_opened"))
        self.disputesClosed = Int(try reader.requiredCount("disputes_closed"))
        guard case .bool(let open)? = json["dispute_open"] else { throw .invalid("order.dispute_open") }
        self.disputeOpen = open
        self.unmatchedClosings = Int(try reader.requiredCount("unmatched_closings"))
        self.firstSeenAt = try time("first_seen_at")
        self.lastSeenAt = try time("last_seen_at")
        if let id = try text("last_change_event_id") {
            guard let eventID = EventID(id) else { throw .invalid("order.last_change_event_id") }
            self.lastChangeEventID = eventID
        }
        guard let c = json["counts"] else { throw .invalid("order.counts") }
        let counted = JSONMemberReader(json: c, prefix: "order.counts")
        counts.events = try counted.requiredCount("events")
        counts.verified = try counted.requiredCount("verified")
        counts.hints = try counted.requiredCount("hints")
        counts.advanced = try counted.requiredCount("advanced")
        counts.repeated = try counted.requiredCount("repeated")
        counts.stale = try counted.requiredCount("stale")
        counts.conflicts = try counted.requiredCount("conflicts")
        counts.mismatches = try counted.requiredCount("mismatches")
    }
}
