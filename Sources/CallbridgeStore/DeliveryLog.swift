import CallbridgeModel

/// The outbox side of the log: what dispatchers lease, attempt and finish.
/// Several dispatchers (threads or processes) may share one log.
///
/// Invariants every implementation keeps:
/// - A delivery is leased by at most one owner at a time: `leaseDue` marks it
///   `in_flight` with an owner and an expiry in the same transaction that
///   selects it. A lease that expires (its owner crashed) makes the delivery
///   due again, so delivery is at-least-once.
/// - `complete` changes a delivery only while the caller still holds its
///   lease; the attempt itself is always recorded.
/// - Nothing is ever deleted here: `dead` deliveries stay, replayable.
public protocol DeliveryLog: Sendable {
    /// Leases up to `capacity[endpoint]` due deliveries per endpoint (oldest
    /// due first), skipping disabled endpoints. Due means pending with
    /// `nextAttemptAt <= now`, or in flight with an expired lease.
    func leaseDue(owner: String, now: Timestamp, leaseDuration: ConfigDuration, capacity: [String: Int]) async throws -> [LeasedDelivery]

    /// Records one attempt and, if `lease` is still held, resolves the
    /// delivery. Returns false when the lease had been lost (the attempt is
    /// recorded but the delivery is left to its new owner).
    @discardableResult
    func complete(_ lease: LeasedDelivery, attempt: AttemptRecord, resolution: DeliveryResolution, now: Timestamp) async throws -> Bool

    /// Returns every delivery leased by `owner` to `pending`, due at `now`
    /// (graceful shutdown). Returns how many were released.
    @discardableResult
    func releaseLeases(owner: String, now: Timestamp) async throws -> Int

    /// When the next delivery to one of `endpoints` becomes due (a pending
    /// one's `nextAttemptAt`, or an in-flight one's lease expiry); nil when
    /// nothing is waiting. Callers pass the endpoints they can serve (enabled
    /// ones), so a disabled endpoint's backlog costs nothing here.
    func nextDueAt(endpoints: [String]) async throws -> Timestamp?

    func setEndpoint(_ name: String, disabled: Bool, reason: String?, now: Timestamp) async throws
    func disabledEndpoints() async throws -> [String: String]
    /// Per-endpoint counts and last error, for `endpoints list` and metrics.
    func endpointStatistics(now: Timestamp) async throws -> [EndpointStatistics]
    func attempts(forDelivery id: Int64) async throws -> [AttemptRecord]
}

/// A delivery held by one dispatcher, with everything needed to send it.
public struct LeasedDelivery: Sendable, Hashable {
    public var id: Int64
    public var eventID: EventID
    public var endpoint: String
    /// Attempts made before this one.
    public var attemptCount: Int
    public var owner: String
    public var leaseExpiresAt: Timestamp
    /// The stored envelope: the exact bytes to POST.
    public var envelope: [UInt8]

    public init(id: Int64, eventID: EventID, endpoint: String, attemptCount: Int, owner: String, leaseExpiresAt: Timestamp, envelope: [UInt8]) {
        self.id = id
        self.eventID = eventID
        self.endpoint = endpoint
        self.attemptCount = attemptCount
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.envelope = envelope
    }
}

/// One HTTP attempt of a delivery, as recorded.
public struct AttemptRecord: Sendable, Hashable {
    /// 1 for the first attempt.
    public var number: Int
    public var startedAt: Timestamp
    public var durationMilliseconds: Int64
    public var statusCode: Int?
    public var error: String?
    /// The first bytes of the response body (bounded by the dispatcher).
    public var responseSnippet: [UInt8]

    public init(number: Int, startedAt: Timestamp, durationMilliseconds: Int64, statusCode: Int?, error: String?, responseSnippet: [UInt8]) {
        self.number = number
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.statusCode = statusCode
        self.error = error
        self.responseSnippet = responseSnippet
    }
}

/// What becomes of a delivery after an attempt.
public enum DeliveryResolution: Sendable, Hashable {
    case succeeded
    /// Failed; try again at this time.
    case retry(at: Timestamp)
    /// Failed and the schedule is exhausted: kept, replayable.
    case dead
}

/// Counts and health of one endpoint's deliveries.
public struct EndpointStatistics: Sendable, Hashable {
    public var endpoint: String
    public var pending: Int
    public var inFlight: Int
    public var succeeded: Int
    public var dead: Int
    /// The oldest `nextAttemptAt` among pending deliveries that are due now.
    public var oldestDueAt: Timestamp?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var lastAttemptAt: Timestamp?

    public init(endpoint: String, pending: Int = 0, inFlight: Int = 0, succeeded: Int = 0, dead: Int = 0, oldestDueAt: Timestamp? = nil,
                lastStatusCode: Int? = nil, lastError: String? = nil, lastAttemptAt: Timestamp? = nil) {
        self.endpoint = endpoint
        self.pending = pending
        self.inFlight = inFlight
        self.succeeded = succeeded
        self.dead = dead
        self.oldestDueAt = oldestDueAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.lastAttemptAt = lastAttemptAt
    }

    /// Deliveries not finished yet.
    public var backlog: Int { pending + inFlight }

    /// Records one row of a per-(endpoint, state) count; `oldestDueAt`
    /// applies to pending deliveries only. Unknown states are ignored.
    package mutating func record(count: Int, state: String, oldestDueMilliseconds: Int64?) {
        switch DeliveryState(rawValue: state) {
        case .pending?:
            pending = count
            oldestDueAt = oldestDueMilliseconds.map { Timestamp(millisecondsSinceEpoch: $0) }
        case .inFlight?: inFlight = count
        case .succeeded?: succeeded = count
        case .dead?: dead = count
        case nil: break
        }
    }
}
