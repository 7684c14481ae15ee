import CallbridgeModel

/// The durable log of everything Callbridge accepted, and the outbox of its
/// deliveries (docs/ARCHITECTURE.md).
///
/// Invariants every implementation keeps:
/// - `append` returns only after the event, its raw request and one pending
///   delivery per named endpoint are committed in one transaction (the
///   provider is acked after that, never before).
/// - Two records with the same non-nil `dedupKey` for the same provider store
///   one event: the second append returns `.duplicate` with the first id and
///   writes nothing.
/// - Concurrent appends may share a transaction (group commit); a failure of
///   one record never discards another record's write.
/// - Reads are safe while another process appends.
public protocol EventLog: DeliveryLog, ReplayLog, RetentionLog, OrderLog, StatusCheckLog, ConsoleLog {
    func append(_ record: IngestRecord) async throws -> AppendOutcome
    func event(id: EventID) async throws -> StoredEvent?
    func deliveries(forEvent id: EventID) async throws -> [DeliveryRecord]
    /// Whether a write transaction can be started right now (readiness
    /// probes). Writes nothing; nil when writable, otherwise why not.
    func writeProbeFailure() async -> String?
    /// Releases connections and background work. Call once, after the last
    /// use; the log must not be used afterwards.
    func close() async
}

extension EventLog {
    /// Nothing to release by default (SQLite closes when the last reference goes).
    public func close() async {}
}

/// A log shared by several processes that can say when any of them committed
/// deliveries that are due now (PostgreSQL's LISTEN/NOTIFY), so idle
/// dispatchers wake at once instead of at their next poll.
///
/// Invariant: a notification is a hint, never the only way work is found;
/// dispatchers keep polling, so a lost notification delays, never loses.
public protocol DeliveryNotifying: Sendable {
    /// Calls `onDeliveries` whenever any process commits new due deliveries,
    /// until the calling task is cancelled (reconnecting after failures).
    func watchDeliveries(_ onDeliveries: @escaping @Sendable () -> Void) async
}

/// What ingest hands to the log: the normalized event, the raw request it came
/// from (secrets and card data already masked), the dedup key and the
/// endpoints whose filters accept it.
public struct IngestRecord: Sendable, Hashable {
    public var event: Event
    public var raw: RawRequest
    /// Unique per `event.data.provider` when non-nil (e.g. Juspay's webhook `id`).
    public var dedupKey: String?
    /// Endpoints that get one pending delivery each if their `order_events`
    /// admits the event's placement (decided by the log, at commit).
    public var targets: [DeliveryTarget]
    /// Set when the event's provider has a status API: the log joins, starts
    /// or schedules the order's status check in the same transaction.
    public var statusCheck: StatusCheckRequest?

    public init(event: Event, raw: RawRequest, dedupKey: String?, targets: [DeliveryTarget], statusCheck: StatusCheckRequest? = nil) {
        self.event = event
        self.raw = raw
        self.dedupKey = dedupKey
        self.targets = targets
        self.statusCheck = statusCheck
    }

    /// Endpoints that take every event (`order_events: all`, no ordering).
    public init(event: Event, raw: RawRequest, dedupKey: String?, endpoints: [String]) {
        self.init(event: event, raw: raw, dedupKey: dedupKey, targets: endpoints.map { DeliveryTarget(endpoint: $0) })
    }
}

/// The result of `EventLog.append`.
public enum AppendOutcome: Sendable, Hashable {
    /// Stored with `deliveries` pending deliveries; `order` is its placement.
    case stored(EventID, order: OrderPlacement?, deliveries: Int)
    /// The dedup key was seen before; nothing was written.
    case duplicate(of: EventID)

    public var eventID: EventID {
        switch self {
        case .stored(let id, _, _), .duplicate(of: let id): return id
        }
    }

    /// The placement of a stored event (nil for a duplicate or without an order).
    public var order: OrderPlacement? {
        if case .stored(_, let order, _) = self { return order }
        return nil
    }

    /// How many deliveries the append created.
    public var deliveries: Int {
        if case .stored(_, _, let count) = self { return count }
        return 0
    }
}

/// An event read back from the log with the request it was built from.
public struct StoredEvent: Sendable, Hashable {
    public var event: Event
    public var raw: RawRequest
    public var dedupKey: String?

    public init(event: Event, raw: RawRequest, dedupKey: String?) {
        self.event = event
        self.raw = raw
        self.dedupKey = dedupKey
    }
}

extension EventLog {
    /// Events newest first, filtered by `query`: `searchEvents` with the
    /// CLI's filters, so both logs have one event query.
    public func events(matching query: EventQuery) async throws -> [Event] {
        try await searchEvents(EventSearch(provider: query.provider, type: query.type, before: query.before, limit: query.limit))
    }
}

/// A filter over the log, newest first, paginated by cursor (the CLI's
/// `events list`; `EventSearch` has every other filter).
public struct EventQuery: Sendable, Hashable {
    public var provider: String?
    public var type: EventType?
    /// Only events with an id strictly older than this one (the cursor of the previous page).
    public var before: EventID?
    public var limit: Int

    public init(provider: String? = nil, type: EventType? = nil, before: EventID? = nil, limit: Int = 50) {
        self.provider = provider
        self.type = type
        self.before = before
        self.limit = limit
    }
}

/// Where a delivery is in its lifecycle.
public enum DeliveryState: String, Sendable, Hashable, CaseIterable {
    /// Waiting for `nextAttemptAt` (new, or rescheduled after a failed attempt).
    case pending
    /// Leased by a dispatcher; due again if the lease expires.
    case inFlight = "in_flight"
    case succeeded
    /// The retry schedule is exhausted; replayable.
    case dead
}

/// One event's delivery to one endpoint.
public struct DeliveryRecord: Sendable, Hashable {
    public var id: Int64
    public var eventID: EventID
    public var endpoint: String
    public var state: DeliveryState
    public var attemptCount: Int
    public var nextAttemptAt: Timestamp?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var createdAt: Timestamp
    /// The delivery that replayed this one, if any.
    public var supersededBy: Int64?

    public init(id: Int64, eventID: EventID, endpoint: String, state: DeliveryState, attemptCount: Int, nextAttemptAt: Timestamp?, lastStatusCode: Int?,
                lastError: String?, createdAt: Timestamp, supersededBy: Int64? = nil) {
        self.supersededBy = supersededBy
        self.id = id
        self.eventID = eventID
        self.endpoint = endpoint
        self.state = state
        self.attemptCount = attemptCount
        self.nextAttemptAt = nextAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
