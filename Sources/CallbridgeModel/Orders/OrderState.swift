/// Where an order stands, as its verified events say (`data.order.state`,
/// the ledger's `state` column). README, "Order truth", draws the lattice.
///
/// Invariant: only verified events change it; `unknown` means no verified
/// event has been placed yet (hints alone never leave it).
public enum OrderState: String, Sendable, Hashable, CaseIterable {
    case unknown
    case created
    case pending
    case authorized
    case failed
    case cancelled
    case expired
    case succeeded
    case partiallyRefunded = "partially_refunded"
    case refunded
    /// A dispute is open (opened, not closed since); the payment state is kept beside it.
    case disputed

    /// Nothing more is expected from the provider without a new action
    /// (a refund, a dispute, a retry): status polling stops here.
    public var isFinal: Bool {
        switch self {
        case .unknown, .created, .pending, .authorized, .disputed: return false
        case .failed, .cancelled, .expired, .succeeded, .partiallyRefunded, .refunded: return true
        }
    }

    /// Money was taken: the buyer paid (refunds and disputes come after a payment).
    public var isPaid: Bool {
        switch self {
        case .succeeded, .partiallyRefunded, .refunded, .disputed: return true
        default: return false
        }
    }

    /// The payment lattice's rank: a higher rank is further along. The three
    /// unpaid endings share one rank.
    var rank: Int {
        switch self {
        case .unknown: return 0
        case .created: return 1
        case .pending: return 2
        case .authorized: return 3
        case .failed, .cancelled, .expired: return 4
        case .succeeded: return 5
        case .partiallyRefunded: return 6
        case .refunded: return 7
        case .disputed: return 8
        }
    }
}

/// How an event relates to its order's story (`data.order.transition`).
public enum OrderTransition: String, Sendable, Hashable, CaseIterable {
    /// It moved the order forward: a new state, a new refund, a dispute.
    case advanced
    /// It says what the order already says.
    case repeated
    /// It describes an earlier point than the order has reached (a late
    /// `payment.pending` after `payment.succeeded`).
    case stale
    /// Its amount or currency contradicts the order's; it moved nothing.
    case conflict
}

/// What an endpoint receives of an order's events (`order_events:` per endpoint).
public enum OrderEventsPolicy: String, Sendable, Hashable, CaseIterable {
    /// Events that advanced their order or conflict with it, and every event
    /// without an order. The default.
    case forward
    /// Every event, stale and repeated ones included (marked as such).
    case all

    /// Whether an event placed as `placement` (nil: not part of an order) goes out.
    public func admits(_ placement: OrderPlacement?) -> Bool {
        guard let placement, self == .forward else { return true }
        return placement.transition == .advanced || placement.transition == .conflict
    }
}

/// One disagreement between an event and its order (`data.order.mismatch[]`).
public struct OrderMismatch: Sendable, Hashable {
    /// `amount`, `currency`, `order_amount` or `refunded_amount`.
    public var field: String
    public var expected: String
    public var got: String

    public init(field: String, expected: String, got: String) {
        self.field = field
        self.expected = expected
        self.got = got
    }

    public var json: JSONValue {
        .object([("field", .string(field)), ("expected", .string(expected)), ("got", .string(got))])
    }
}
