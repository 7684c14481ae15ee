import CallbridgeModel

// Plain rows of the event log, column for column, for `callbridge log copy`
// (SQLite → PostgreSQL). Both logs share one schema (`SQLiteSchema`,
// `PostgresSchema`): times are Unix milliseconds, ids are kept as they are,
// so a copied log is the same log, only on another database.

/// Everything one batch of a log copy moves: a run of events in id order and
/// every row that depends on them, or a page of the order ledger.
///
/// Invariants (as produced by `SQLiteEventLog.exportBatch`):
/// - `events` are sorted by id, and every other row but `orders` belongs to
///   one of them (`eventID`, or for attempts the delivery's event), so a
///   batch can be written in one transaction without referring to rows
///   outside it;
/// - `deliveries` are sorted by id; a delivery's `supersededBy` names another
///   delivery of the same event, hence of the same batch;
/// - `attempts` are sorted by id and each names a delivery of the batch;
/// - `orders` are sorted by id and come in batches of their own
///   (`SQLiteEventLog.exportOrders`): an order belongs to no single event (a
///   registered order may have none, and pruning leaves orders behind). The
///   deliveries naming an order (`orderRef`) may come in a later batch: the
///   logs keep no foreign key there.
public struct LogCopyBatch: Sendable, Hashable {
    public var events: [LogCopyEvent]
    public var rawRequests: [LogCopyRawRequest]
    public var deliveries: [LogCopyDelivery]
    public var attempts: [LogCopyAttempt]
    public var revisions: [LogCopyEventRevision]
    public var orders: [LogCopyOrder]

    public init(events: [LogCopyEvent] = [], rawRequests: [LogCopyRawRequest] = [], deliveries: [LogCopyDelivery] = [],
                attempts: [LogCopyAttempt] = [], revisions: [LogCopyEventRevision] = [], orders: [LogCopyOrder] = []) {
        self.events = events
        self.rawRequests = rawRequests
        self.deliveries = deliveries
        self.attempts = attempts
        self.revisions = revisions
        self.orders = orders
    }

    /// No events: the copy has reached the end of the source.
    public var isEmpty: Bool { events.isEmpty }

    /// The cursor for the next batch (the greatest event id in this one).
    public var lastEventID: EventID? { events.last?.id }

    /// How many rows of each table the batch holds (`endpointStates` is 0:
    /// endpoint states are copied apart, see `LogCopyEndpointState`).
    public var counts: LogCopyCounts {
        LogCopyCounts(events: events.count, rawRequests: rawRequests.count, deliveries: deliveries.count, attempts: attempts.count,
                      revisions: revisions.count, orders: orders.count, endpointStates: 0)
    }
}

/// One row of `events`: the current form of an event.
///
/// Invariant: `envelope` is the exact byte string delivered (`Event.envelopeBytes`);
/// the other fields are copies of envelope fields kept for filtering, and are
/// copied as stored, not re-derived.
public struct LogCopyEvent: Sendable, Hashable {
    public var id: EventID
    /// `EventType.rawValue`, as stored.
    public var type: String
    public var provider: String
    public var route: String
    /// `Channel.rawValue`, as stored.
    public var channel: String
    public var verified: Bool
    public var orderID: String?
    public var receivedAtMilliseconds: Int64
    /// Unique per `provider` when non-nil (the provider's event id).
    public var dedupKey: String?
    public var envelope: [UInt8]
    /// 1 for an event never revised; `revisions` holds the forms before this one.
    public var revision: Int64

    public init(id: EventID, type: String, provider: String, route: String, channel: String, verified: Bool, orderID: String?,
                receivedAtMilliseconds: Int64, dedupKey: String?, envelope: [UInt8], revision: Int64) {
        self.id = id
        self.type = type
        self.provider = provider
        self.route = route
        self.channel = channel
        self.verified = verified
        self.orderID = orderID
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.dedupKey = dedupKey
        self.envelope = envelope
        self.revision = revision
    }
}

/// One row of `raw_requests`: the request an event was built from (secrets
/// and card data were masked before it was first stored).
///
/// Invariant: `headers` is the stored text (a JSON array of `[name, value]`
/// pairs in arrival order), copied verbatim rather than parsed and rendered
/// again, so the copy is byte-for-byte.
public struct LogCopyRawRequest: Sendable, Hashable {
    public var eventID: EventID
    public var method: String
    public var path: String
    public var query: String
    public var headers: String
    /// May be empty (a browser return with no body).
    public var body: [UInt8]
    public var remoteAddress: String?
    public var receivedAtMilliseconds: Int64

    public init(eventID: EventID, method: String, path: String, query: String, headers: String, body: [UInt8], remoteAddress: String?,
                receivedAtMilliseconds: Int64) {
        self.eventID = eventID
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.receivedAtMilliseconds = receivedAtMilliseconds
    }
}

/// One row of `deliveries`, every column included (the lease of an in-flight
/// delivery too, so a lease taken before the copy still expires on the target
/// and the delivery becomes due again there).
///
/// Invariant: `id` is kept by the copy, since attempts and `supersededBy`
/// refer to it; `supersededBy`, when set, is a delivery of the same event;
/// `orderRef` and `orderSeq` are both set (a delivery of a `per_order`
/// endpoint: its order's `LogCopyOrder.id` and the event's place in the
/// story) or both nil.
public struct LogCopyDelivery: Sendable, Hashable {
    public var id: Int64
    public var eventID: EventID
    public var endpoint: String
    public var state: DeliveryState
    public var attemptCount: Int64
    public var nextAttemptAtMilliseconds: Int64?
    public var leaseOwner: String?
    public var leaseExpiresAtMilliseconds: Int64?
    public var lastStatusCode: Int64?
    public var lastError: String?
    public var createdAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64
    public var supersededBy: Int64?
    public var orderRef: Int64?
    public var orderSeq: Int64?

    public init(id: Int64, eventID: EventID, endpoint: String, state: DeliveryState, attemptCount: Int64, nextAttemptAtMilliseconds: Int64?,
                leaseOwner: String?, leaseExpiresAtMilliseconds: Int64?, lastStatusCode: Int64?, lastError: String?,
                createdAtMilliseconds: Int64, updatedAtMilliseconds: Int64, supersededBy: Int64?, orderRef: Int64? = nil, orderSeq: Int64? = nil) {
        self.id = id
        self.eventID = eventID
        self.endpoint = endpoint
        self.state = state
        self.attemptCount = attemptCount
        self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
        self.leaseOwner = leaseOwner
        self.leaseExpiresAtMilliseconds = leaseExpiresAtMilliseconds
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAtMilliseconds = createdAtMilliseconds
        self.updatedAtMilliseconds = updatedAtMilliseconds
        self.supersededBy = supersededBy
        self.orderRef = orderRef
        self.orderSeq = orderSeq
    }
}

/// One row of `attempts`: one HTTP attempt of a delivery.
///
/// Invariant: `id` is kept by the copy (attempts of one delivery are read in
/// `(number, id)` order); `responseSnippet` nil and empty are kept apart, as
/// stored (the logs store an empty snippet as NULL).
public struct LogCopyAttempt: Sendable, Hashable {
    public var id: Int64
    public var deliveryID: Int64
    public var number: Int64
    public var startedAtMilliseconds: Int64
    public var durationMilliseconds: Int64
    public var statusCode: Int64?
    public var error: String?
    public var responseSnippet: [UInt8]?

    public init(id: Int64, deliveryID: Int64, number: Int64, startedAtMilliseconds: Int64, durationMilliseconds: Int64, statusCode: Int64?,
                error: String?, responseSnippet: [UInt8]?) {
        self.id = id
        self.deliveryID = deliveryID
        self.number = number
        self.startedAtMilliseconds = startedAtMilliseconds
        self.durationMilliseconds = durationMilliseconds
        self.statusCode = statusCode
        self.error = error
        self.responseSnippet = responseSnippet
    }
}

/// One row of `event_revisions`: an earlier form of a re-normalized event
/// (or, in logs written before status checks, of a return confirmed in place).
///
/// Invariant: `(eventID, revision)` is unique, and `revision` is less than
/// the event's current `LogCopyEvent.revision`.
public struct LogCopyEventRevision: Sendable, Hashable {
    public var eventID: EventID
    public var revision: Int64
    public var type: String
    public var envelope: [UInt8]
    public var replacedAtMilliseconds: Int64

    public init(eventID: EventID, revision: Int64, type: String, envelope: [UInt8], replacedAtMilliseconds: Int64) {
        self.eventID = eventID
        self.revision = revision
        self.type = type
        self.envelope = envelope
        self.replacedAtMilliseconds = replacedAtMilliseconds
    }
}

/// One row of `orders`: one order's ledger entry.
///
/// Invariant: `ledger` is the entry as stored (`OrderLedgerEntry.json`
/// rendered), the source of truth; the other fields are copies of its
/// fields, copied as stored, not re-derived. `id` is kept by the copy, since
/// deliveries refer to it (`LogCopyDelivery.orderRef`).
public struct LogCopyOrder: Sendable, Hashable {
    public var id: Int64
    public var provider: String
    public var orderID: String
    /// `OrderState.rawValue`, as stored.
    public var state: String
    public var amount: String?
    public var currency: String?
    public var expectedAmount: String?
    public var expectedCurrency: String?
    public var firstSeenMilliseconds: Int64?
    public var lastSeenMilliseconds: Int64?
    public var lastEventID: String?
    public var eventCount: Int64
    public var mismatchCount: Int64
    public var ledger: String
    public var createdAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64

    public init(id: Int64, provider: String, orderID: String, state: String, amount: String?, currency: String?, expectedAmount: String?,
                expectedCurrency: String?, firstSeenMilliseconds: Int64?, lastSeenMilliseconds: Int64?, lastEventID: String?, eventCount: Int64,
                mismatchCount: Int64, ledger: String, createdAtMilliseconds: Int64, updatedAtMilliseconds: Int64) {
        self.id = id
        self.provider = provider
        self.orderID = orderID
        self.state = state
        self.amount = amount
        self.currency = currency
        self.expectedAmount = expectedAmount
        self.expectedCurrency = expectedCurrency
        self.firstSeenMilliseconds = firstSeenMilliseconds
        self.lastSeenMilliseconds = lastSeenMilliseconds
        self.lastEventID = lastEventID
        self.eventCount = eventCount
        self.mismatchCount = mismatchCount
        self.ledger = ledger
        self.createdAtMilliseconds = createdAtMilliseconds
        self.updatedAtMilliseconds = updatedAtMilliseconds
    }
}

/// One row of `endpoint_states`: an endpoint disabled (by a 410 or an
/// operator) or enabled again, shared by every process on the log.
///
/// Invariant: not tied to any event, so it is copied once, after the
/// batches; `reason` is nil when `disabled` is false.
public struct LogCopyEndpointState: Sendable, Hashable {
    public var name: String
    public var disabled: Bool
    public var reason: String?
    public var updatedAtMilliseconds: Int64

    public init(name: String, disabled: Bool, reason: String?, updatedAtMilliseconds: Int64) {
        self.name = name
        self.disabled = disabled
        self.reason = reason
        self.updatedAtMilliseconds = updatedAtMilliseconds
    }
}

/// A number of rows per table of the log: what a source holds, what an
/// import wrote, or what a target holds of the copied rows.
///
/// Invariant: plain counts, never negative; `+` adds table by table.
public struct LogCopyCounts: Sendable, Hashable, CustomStringConvertible {
    public var events: Int
    public var rawRequests: Int
    public var deliveries: Int
    public var attempts: Int
    public var revisions: Int
    public var orders: Int
    public var endpointStates: Int

    public init(events: Int = 0, rawRequests: Int = 0, deliveries: Int = 0, attempts: Int = 0, revisions: Int = 0, orders: Int = 0,
                endpointStates: Int = 0) {
        self.events = events
        self.rawRequests = rawRequests
        self.deliveries = deliveries
        self.attempts = attempts
        self.revisions = revisions
        self.orders = orders
        self.endpointStates = endpointStates
    }

    public static let zero = LogCopyCounts()

    public static func + (left: LogCopyCounts, right: LogCopyCounts) -> LogCopyCounts {
        LogCopyCounts(events: left.events + right.events, rawRequests: left.rawRequests + right.rawRequests,
                      deliveries: left.deliveries + right.deliveries, attempts: left.attempts + right.attempts,
                      revisions: left.revisions + right.revisions, orders: left.orders + right.orders,
                      endpointStates: left.endpointStates + right.endpointStates)
    }

    public static func += (left: inout LogCopyCounts, right: LogCopyCounts) { left = left + right }

    /// Each table with its count, in a fixed order (table names as in the schema).
    public var byTable: [(table: String, count: Int)] {
        [("events", events), ("raw_requests", rawRequests), ("deliveries", deliveries), ("attempts", attempts),
         ("event_revisions", revisions), ("orders", orders), ("endpoint_states", endpointStates)]
    }

    /// E.g. `12 events, 12 raw requests, 20 deliveries, 21 attempts, 1 revision, 7 orders, 1 endpoint state`.
    public var description: String {
        func counted(_ n: Int, _ singular: String, _ plural: String) -> String { "\(n) \(n == 1 ? singular : plural)" }
        return [
            counted(events, "event", "events"), counted(rawRequests, "raw request", "raw requests"),
            counted(deliveries, "delivery", "deliveries"), counted(attempts, "attempt", "attempts"),
            counted(revisions, "revision", "revisions"), counted(orders, "order", "orders"),
            counted(endpointStates, "endpoint state", "endpoint states"),
        ].joined(separator: ", ")
    }
}
