import CallbridgeModel

/// The order ledger side of the log (README, "Order truth"): one entry per
/// (provider, order id), changed by `OrderLedger` in the transaction that
/// stores each event, and the story of every placement.
///
/// Invariants every implementation keeps:
/// - An event with an order id is placed in the same transaction that stores
///   it (append, a status check's answer, revision); its envelope's `data.order` is the
///   placement, so what an endpoint receives and what the ledger holds agree.
/// - Placements of one order are numbered 1, 2, 3 … in commit order with no
///   gap, even when several processes append to one log.
/// - The deliveries of an `ordering: per_order` endpoint form one chain per
///   order: at most one of them is active (due or in flight), the others are
///   parked (pending, no due time) and wait for it in sequence order.
public protocol OrderLog: Sendable {
    func order(provider: String, orderID: String) async throws -> OrderLedgerEntry?
    /// Orders, most recently created entry first, filtered by `query`.
    func orders(matching query: OrderQuery) async throws -> [OrderListing]
    /// Every placement of the order's events (each revision placed is one
    /// item), in sequence order, with the deliveries each one produced.
    func orderStory(provider: String, orderID: String) async throws -> [OrderStoryItem]
    /// Records what the merchant created (`OrderLedger.register`), creating
    /// the entry if no event was seen yet.
    func registerOrder(provider: String, orderID: String, amount: DecimalAmount, currency: CurrencyCode,
                       now: Timestamp) async throws -> (OrderLedgerEntry, OrderRegistration)
}

/// A filter over the ledger, paginated by cursor.
public struct OrderQuery: Sendable, Hashable {
    public var provider: String?
    public var state: OrderState?
    /// true: only orders with a conflict; false: only orders without.
    public var mismatch: Bool?
    /// Only entries older than this cursor (the last listing's `cursor`).
    public var before: Int64?
    public var limit: Int

    public init(provider: String? = nil, state: OrderState? = nil, mismatch: Bool? = nil, before: Int64? = nil, limit: Int = 50) {
        self.provider = provider
        self.state = state
        self.mismatch = mismatch
        self.before = before
        self.limit = limit
    }
}

/// One entry of an order list, with the cursor that continues after it.
public struct OrderListing: Sendable, Hashable {
    public var cursor: Int64
    public var entry: OrderLedgerEntry
    public init(cursor: Int64, entry: OrderLedgerEntry) {
        self.cursor = cursor
        self.entry = entry
    }
}

/// One placement in an order's story: an event as it was placed (one of its
/// revisions), and the deliveries created while that revision was current.
public struct OrderStoryItem: Sendable, Hashable {
    public var event: Event
    public var revision: Int
    /// Whether this is the event's current form.
    public var isCurrent: Bool
    public var deliveries: [DeliveryRecord]

    public init(event: Event, revision: Int, isCurrent: Bool, deliveries: [DeliveryRecord]) {
        self.event = event
        self.revision = revision
        self.isCurrent = isCurrent
        self.deliveries = deliveries
    }

    /// Builds the story from an order's events, their earlier revisions and
    /// their deliveries: each delivery belongs to the revision current when
    /// it was created. Items without a placement (written before the ledger
    /// existed) come first, by event id.
    public static func story(current: [(event: Event, revision: Int)], earlier: [EventID: [EventRevision]],
                             deliveries: [EventID: [DeliveryRecord]]) -> [OrderStoryItem] {
        var items: [OrderStoryItem] = []
        for (event, revision) in current {
            let revisions = (earlier[event.id] ?? []).sorted { $0.revision < $1.revision }
            var remaining = (deliveries[event.id] ?? []).sorted { $0.id < $1.id }
            for old in revisions {
                let mine = remaining.filter { $0.createdAt < old.replacedAt }
                remaining.removeAll { $0.createdAt < old.replacedAt }
                items.append(OrderStoryItem(event: old.event, revision: old.revision, isCurrent: false, deliveries: mine))
            }
            items.append(OrderStoryItem(event: event, revision: revision, isCurrent: true, deliveries: remaining))
        }
        return items.sorted { a, b in
            switch (a.event.data.order?.sequence, b.event.data.order?.sequence) {
            case let (x?, y?): return x != y ? x < y : a.revision < b.revision
            case (nil, .some): return true
            case (.some, nil): return false
            case (nil, nil): return a.event.id != b.event.id ? a.event.id < b.event.id : a.revision < b.revision
            }
        }
    }
}

/// Where an endpoint's delivery of an event goes, and under which order rules.
public struct DeliveryTarget: Sendable, Hashable {
    public var endpoint: String
    public var orderEvents: OrderEventsPolicy
    /// Deliveries of one order to this endpoint go out one at a time, in commit order.
    public var perOrder: Bool

    public init(endpoint: String, orderEvents: OrderEventsPolicy = .all, perOrder: Bool = false) {
        self.endpoint = endpoint
        self.orderEvents = orderEvents
        self.perOrder = perOrder
    }

    /// The targets that take an event placed as `placement`, one per endpoint name.
    public static func admitted(_ targets: [DeliveryTarget], for placement: OrderPlacement?) -> [DeliveryTarget] {
        var seen = Set<String>()
        return targets.filter { $0.orderEvents.admits(placement) && seen.insert($0.endpoint).inserted }
    }
}

/// What storing a new revision of an event did to its place in the story.
public struct RevisionOutcome: Sendable, Hashable {
    /// The revision as stored (with its new placement).
    public var event: Event
    public var previousOrder: OrderPlacement?
    public init(event: Event, previousOrder: OrderPlacement?) {
        self.event = event
        self.previousOrder = previousOrder
    }
}
