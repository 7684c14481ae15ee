/// The order ledger's transitions: how one event changes its order's entry
/// and where it is placed in the order's story. Pure: both logs call it
/// inside the transaction that stores the event, so SQLite and PostgreSQL
/// cannot disagree, and every rule is unit-tested without a database.
///
/// The rules (README, "Order truth"):
/// - Only verified events change the entry's state and amounts. A hint
///   (unverified) is placed, counted, and classified as if it were proven,
///   but changes nothing else.
/// - Payments move up the lattice `created < pending < authorized <
///   {failed, cancelled, expired} < succeeded`. Nothing after `succeeded`
///   (or a refund state) is forward except refunds and disputes; a
///   `payment.succeeded` after a failure (the buyer's retry) is forward; a
///   new pending/authorized after a failure is stale (the retry's success
///   will be forward); the three unpaid endings replace one another.
/// - Refunds are tracked per refund (provider refund id, else provider
///   event id, else the event id): `pending` before `succeeded`/`failed`,
///   and `failed` → `succeeded` is forward. A verified successful refund
///   makes the order `partially_refunded` or `refunded` (the total reached
///   the paid amount), even if the payment's own success was never seen.
/// - A dispute opening makes the order `disputed` until a closing; more
///   openings while it is open (a chargeback's steps) are repeated. A
///   closing of an open dispute, and a closing before any opening, are
///   forward (an opening after such a closing is stale); a further closing
///   is repeated.
/// - `unmapped` events never change the state and count as forward, so
///   what Callbridge could not classify still reaches services.
/// - A verified event whose amount or currency contradicts the order's
///   (the registered amount, else the first reported one; refunds against
///   what was paid) changes nothing but the counts: it is a `conflict`,
///   unless it is stale anyway (a late step with another amount stays
///   `stale`, so nothing older than a success reaches a default endpoint);
///   either way its mismatch is listed and counted.
public enum OrderLedger {
    /// Places `event` in `entry`'s story and applies it. Returns where it went.
    public static func place(_ event: Event, in entry: inout OrderLedgerEntry) -> OrderPlacement {
        let data = event.data
        let previous = entry.state
        let mismatch = check(event, against: entry)
        var candidate = entry
        var transition = apply(event, to: &candidate)
        if !mismatch.isEmpty && transition != .stale { transition = .conflict }

        if data.verified && mismatch.isEmpty {
            entry = candidate
        }
        if data.verified && !mismatch.isEmpty { entry.counts.mismatches = entry.counts.mismatches.saturatingAdding(1) }
        entry.counts.events = entry.counts.events.saturatingAdding(1)
        if data.verified {
            entry.counts.verified = entry.counts.verified.saturatingAdding(1)
            switch transition {
            case .advanced:
                entry.counts.advanced = entry.counts.advanced.saturatingAdding(1)
                entry.lastChangeEventID = event.id
            case .repeated: entry.counts.repeated = entry.counts.repeated.saturatingAdding(1)
            case .stale: entry.counts.stale = entry.counts.stale.saturatingAdding(1)
            case .conflict: entry.counts.conflicts = entry.counts.conflicts.saturatingAdding(1)
            }
        } else {
            entry.counts.hints = entry.counts.hints.saturatingAdding(1)
        }
        if entry.firstSeenAt == nil { entry.firstSeenAt = data.receivedAt }
        if let last = entry.lastSeenAt {
            if last < data.receivedAt { entry.lastSeenAt = data.receivedAt }
        } else {
            entry.lastSeenAt = data.receivedAt
        }
        return OrderPlacement(sequence: entry.counts.events, state: entry.state, previousState: previous, transition: transition, mismatch: mismatch)
    }

    /// What the merchant says it created. Registering the same amount and
    /// currency again changes nothing; another amount or currency is refused.
    /// The result lists where what the provider reported already differs.
    public static func register(amount: DecimalAmount, currency: CurrencyCode, at now: Timestamp,
                                in entry: inout OrderLedgerEntry) throws(OrderRegistrationError) -> OrderRegistration {
        if let registered = entry.expectedAmount, let registeredCurrency = entry.expectedCurrency {
            guard registered.isEqualInValue(to: amount), registeredCurrency == currency else {
                throw .alreadyRegistered(amount: registered, currency: registeredCurrency)
            }
            return OrderRegistration(created: false, mismatch: reportedMismatch(entry))
        }
        entry.expectedAmount = amount
        entry.expectedCurrency = currency
        entry.registeredAt = now
        let mismatch = reportedMismatch(entry)
        // Registered after the provider reported another amount: the order is flagged, not only the answer.
        if !mismatch.isEmpty { entry.counts.mismatches = entry.counts.mismatches.saturatingAdding(1) }
        return OrderRegistration(created: true, mismatch: mismatch)
    }

    static func reportedMismatch(_ entry: OrderLedgerEntry) -> [OrderMismatch] {
        var result: [OrderMismatch] = []
        if let expected = entry.expectedAmount, let got = entry.amount, !expected.isEqualInValue(to: got) {
            result.append(OrderMismatch(field: "amount", expected: expected.text, got: got.text))
        }
        if let expected = entry.expectedCurrency, let got = entry.currency, expected != got {
            result.append(OrderMismatch(field: "currency", expected: expected.code, got: got.code))
        }
        return result
    }

    // MARK: Money

    /// Where `event` contradicts what `entry` knows of the order's money.
    static func check(_ event: Event, against entry: OrderLedgerEntry) -> [OrderMismatch] {
        let data = event.data
        var result: [OrderMismatch] = []
        let family = Family(event.type)
        if family != .other, let got = data.currency, let expected = entry.referenceCurrency, got != expected {
            result.append(OrderMismatch(field: "currency", expected: expected.code, got: got.code))
        }
        switch family {
        case .payment:
            if let got = data.amount, let expected = entry.referenceAmount, !got.isEqualInValue(to: expected) {
                result.append(OrderMismatch(field: "amount", expected: expected.text, got: got.text))
            }
        case .refund(let status):
            if let got = data.orderAmount, let expected = entry.referenceAmount, !got.isEqualInValue(to: expected) {
                result.append(OrderMismatch(field: "order_amount", expected: expected.text, got: got.text))
            }
            guard let limit = entry.paidAmount ?? entry.referenceAmount ?? data.orderAmount, let amount = data.amount?.magnitude else { break }
            if status == .succeeded {
                guard entry.refunds[refundKey(event)]?.status != .succeeded else { break }
                let total = entry.refundedAmount.addingMagnitude(amount)
                if total.compareValue(limit) > 0 {
                    result.append(OrderMismatch(field: "refunded_amount", expected: limit.text, got: total.text))
                }
            } else if amount.compareValue(limit) > 0 {
                result.append(OrderMismatch(field: "amount", expected: limit.text, got: amount.text))
            }
        case .dispute, .other:
            break
        }
        return result
    }

    // MARK: States

    /// Applies `event` to `entry` as if it were verified and returns its transition.
    static func apply(_ event: Event, to entry: inout OrderLedgerEntry) -> OrderTransition {
        let data = event.data
        let transition: OrderTransition
        switch Family(event.type) {
        case .payment:
            let target = paymentTarget(event.type)
            transition = paymentTransition(from: entry.paymentState, to: target)
            if transition == .advanced {
                entry.paymentState = target
                if target == .succeeded { entry.paidAmount = data.amount ?? entry.referenceAmount }
            }
            if entry.amount == nil { entry.amount = data.amount }
            if entry.currency == nil { entry.currency = data.currency }
        case .refund(let status):
            let key = refundKey(event)
            let known = entry.refunds[key]
            transition = refundTransition(from: known?.status, to: status)
            if transition == .advanced {
                let amount = data.amount?.magnitude ?? known?.amount
                entry.refunds[key] = OrderRefund(status: status, amount: amount)
                if status == .succeeded {
                    if let amount { entry.refundedAmount = entry.refundedAmount.addingMagnitude(amount) }
                    let limit = entry.paidAmount ?? entry.referenceAmount ?? data.orderAmount
                    if let limit, entry.refundedAmount.compareValue(limit) >= 0 {
                        entry.paymentState = .refunded
                    } else {
                        entry.paymentState = .partiallyRefunded
                    }
                }
            }
            if entry.currency == nil { entry.currency = data.currency }
        case .dispute(let opened):
            if opened {
                entry.disputesOpened = entry.disputesOpened.saturatingAdding(1)
                if entry.disputeOpen {
                    transition = .repeated
                } else if entry.unmatchedClosings > 0 {
                    entry.unmatchedClosings -= 1
                    transition = .stale
                } else {
                    entry.disputeOpen = true
                    transition = .advanced
                }
            } else {
                let seenOpening = entry.disputesOpened > 0
                entry.disputesClosed = entry.disputesClosed.saturatingAdding(1)
                if entry.disputeOpen {
                    entry.disputeOpen = false
                    transition = .advanced
                } else if seenOpening {
                    transition = .repeated
                } else {
                    entry.unmatchedClosings = entry.unmatchedClosings.saturatingAdding(1)
                    transition = .advanced
                }
            }
        case .other:
            transition = .advanced
        }
        entry.state = entry.disputeOpen ? .disputed : entry.paymentState
        return transition
    }

    /// The payment lattice (README, "Order truth").
    public static func paymentTransition(from current: OrderState, to target: OrderState) -> OrderTransition {
        if current == target { return .repeated }
        switch current {
        case .unknown:
            return .advanced
        case .succeeded, .partiallyRefunded, .refunded, .disputed:
            return target == .succeeded ? .repeated : .stale
        case .failed, .cancelled, .expired:
            return target.rank >= current.rank ? .advanced : .stale
        case .created, .pending, .authorized:
            return target.rank > current.rank ? .advanced : .stale
        }
    }

    /// One refund's lattice: `pending` < {`failed`, `succeeded`}; `failed` → `succeeded` is forward.
    public static func refundTransition(from current: OrderRefund.Status?, to target: OrderRefund.Status) -> OrderTransition {
        guard let current else { return .advanced }
        if current == target { return .repeated }
        switch (current, target) {
        case (.pending, _), (.failed, .succeeded): return .advanced
        default: return .stale
        }
    }

    /// The key a refund is tracked under.
    static func refundKey(_ event: Event) -> String {
        event.data.refundID ?? event.data.providerEventID ?? event.id.rawValue
    }

    private static func paymentTarget(_ type: EventType) -> OrderState {
        switch type {
        case .paymentCreated: return .created
        case .paymentPending: return .pending
        case .paymentAuthorized: return .authorized
        case .paymentSucceeded: return .succeeded
        case .paymentFailed: return .failed
        case .paymentCancelled: return .cancelled
        case .paymentExpired: return .expired
        default: return .unknown
        }
    }

    /// The kinds of event the ledger tells apart.
    enum Family: Equatable {
        case payment
        case refund(OrderRefund.Status)
        case dispute(opened: Bool)
        case other

        init(_ type: EventType) {
            switch type {
            case .paymentCreated, .paymentPending, .paymentAuthorized, .paymentSucceeded, .paymentFailed, .paymentCancelled, .paymentExpired:
                self = .payment
            case .refundPending: self = .refund(.pending)
            case .refundSucceeded: self = .refund(.succeeded)
            case .refundFailed: self = .refund(.failed)
            case .disputeOpened: self = .dispute(opened: true)
            case .disputeClosed: self = .dispute(opened: false)
            case .unmapped: self = .other
            }
        }
    }
}

/// The result of registering an order's expected amount.
public struct OrderRegistration: Sendable, Hashable {
    /// False when the same amount and currency were registered before.
    public var created: Bool
    /// Where what the provider already reported differs from the registration.
    public var mismatch: [OrderMismatch]
}

/// Why an order's expected amount could not be registered.
public enum OrderRegistrationError: Error, Sendable, Hashable, CustomStringConvertible {
    case alreadyRegistered(amount: DecimalAmount, currency: CurrencyCode)

    public var description: String {
        switch self {
        case .alreadyRegistered(let amount, let currency):
            return "the order is registered already with \(amount.text) \(currency.code)"
        }
    }
}

/// One event of an order as a rebuild sees it: its current form and the
/// earlier forms kept as revisions (oldest first).
public struct OrderEventHistory: Sendable, Hashable {
    public var current: Event
    public var earlier: [Event]

    public init(current: Event, earlier: [Event]) {
        self.current = current
        self.earlier = earlier
    }
}

extension OrderLedger {
    /// Rebuilds an order's entry from its events' current forms, each at the
    /// place it first took in this order's story (events never placed here
    /// go last, by id), keeping what the merchant registered. Used when an
    /// event is re-normalized: applying its new form on top of the old one
    /// would count a refund or a dispute twice, and could never correct a
    /// wrong amount.
    ///
    /// `revised` (when it is one of `histories`) gets a new placement: its
    /// place in the rebuilt story, numbered after every earlier placement.
    /// `counts.events` keeps counting every placement ever made (it is the
    /// last sequence); the other counts describe the current forms.
    public static func rebuild(_ entry: OrderLedgerEntry, histories: [OrderEventHistory],
                               revised: EventID?) -> (entry: OrderLedgerEntry, placement: OrderPlacement?) {
        func position(_ history: OrderEventHistory) -> Int64 {
            ([history.current] + history.earlier)
                .filter { $0.data.provider == entry.provider && $0.data.orderID == entry.orderID }
                .compactMap { $0.data.order?.sequence }
                .min() ?? .max
        }
        let ordered = histories
            .map { (position: position($0), event: $0.current) }
            .sorted { a, b in a.position != b.position ? a.position < b.position : a.event.id < b.event.id }
        var fresh = OrderLedgerEntry(provider: entry.provider, orderID: entry.orderID)
        fresh.expectedAmount = entry.expectedAmount
        fresh.expectedCurrency = entry.expectedCurrency
        fresh.registeredAt = entry.registeredAt
        var placement: OrderPlacement?
        for (_, event) in ordered {
            let placed = place(event, in: &fresh)
            if event.id == revised { placement = placed }
        }
        if fresh.registeredAt != nil, !reportedMismatch(fresh).isEmpty {
            fresh.counts.mismatches = fresh.counts.mismatches.saturatingAdding(1)
        }
        fresh.counts.events = entry.counts.events
        if placement != nil {
            fresh.counts.events = entry.counts.events.saturatingAdding(1)
            placement?.sequence = fresh.counts.events
        }
        return (fresh, placement)
    }
}
