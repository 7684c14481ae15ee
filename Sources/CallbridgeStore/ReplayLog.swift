import CallbridgeModel

/// The replay side of the log (docs/ARCHITECTURE.md): find stored events by
/// id, time, provider, type, endpoint or delivery state, schedule them again
/// with the same event id, and keep every revision of a re-normalized event.
///
/// Invariants: replay never modifies or deletes an earlier delivery or
/// attempt; it adds deliveries (and marks the ones it supersedes). A revision
/// replaces the current envelope only after the previous one is kept.
public protocol ReplayLog: Sendable {
    /// Candidates in ascending id order, strictly after `cursor`, at most `limit`.
    func replayCandidates(_ selection: ReplaySelection, after cursor: EventID?, limit: Int) async throws -> [ReplayCandidate]
    /// How many events `selection` picks (for progress and `--dry-run`).
    func replayCandidateCount(_ selection: ReplaySelection) async throws -> Int
    /// Adds one pending delivery per plan target, due now, in one
    /// transaction; superseded deliveries point at their replacement.
    /// Returns how many deliveries were created.
    @discardableResult
    func scheduleReplay(_ plans: [ReplayPlan], now: Timestamp) async throws -> Int
    /// Stores `event` as the next revision of itself, keeping the current
    /// form in the revision history, and places it again in its order's
    /// story. Nil if the event is unknown.
    func revise(_ event: Event, now: Timestamp) async throws -> RevisionOutcome?
    /// Earlier forms of an event, oldest first.
    func revisions(of id: EventID) async throws -> [EventRevision]
}

/// Which events (and deliveries) a replay picks; empty fields match everything.
public struct ReplaySelection: Sendable, Hashable {
    public var eventIDs: [EventID]
    public var since: Timestamp?
    public var until: Timestamp?
    public var provider: String?
    public var type: EventType?
    /// With `state`: only that endpoint's deliveries. Without: the target.
    public var endpoint: String?
    /// Only events with a delivery in this state (not yet superseded).
    public var state: ReplayState?

    public init(eventIDs: [EventID] = [], since: Timestamp? = nil, until: Timestamp? = nil, provider: String? = nil, type: EventType? = nil,
                endpoint: String? = nil, state: ReplayState? = nil) {
        self.eventIDs = eventIDs
        self.since = since
        self.until = until
        self.provider = provider
        self.type = type
        self.endpoint = endpoint
        self.state = state
    }
}

/// Delivery states a replay can select on.
public enum ReplayState: String, Sendable, Hashable, CaseIterable {
    /// The retry schedule is exhausted.
    case dead
    /// At least one attempt failed and the delivery is waiting to retry.
    case failed
    case succeeded

    /// Whether `delivery` is in this state: the rule `EventLogSQL.replayDeliveryCondition`
    /// states in SQL for both logs.
    public func includes(_ delivery: DeliveryRecord) -> Bool {
        guard delivery.supersededBy == nil else { return false }
        switch self {
        case .dead: return delivery.state == .dead
        case .succeeded: return delivery.state == .succeeded
        case .failed: return delivery.state == .pending && delivery.attemptCount > 0
        }
    }
}

/// A stored event with its deliveries, as a replay sees it.
public struct ReplayCandidate: Sendable, Hashable {
    public var event: Event
    public var deliveries: [DeliveryRecord]
    public init(event: Event, deliveries: [DeliveryRecord]) {
        self.event = event
        self.deliveries = deliveries
    }
}

/// What to send again for one event.
public struct ReplayPlan: Sendable, Hashable {
    public var eventID: EventID
    /// Endpoint names, each gets a new pending delivery.
    public var endpoints: [String]
    /// Deliveries replaced by this replay, by endpoint name.
    public var supersedes: [String: Int64]
    public init(eventID: EventID, endpoints: [String], supersedes: [String: Int64] = [:]) {
        self.eventID = eventID
        self.endpoints = endpoints
        self.supersedes = supersedes
    }
}

/// An earlier form of an event, kept when it was re-normalized.
public struct EventRevision: Sendable, Hashable {
    public var revision: Int
    public var event: Event
    public var replacedAt: Timestamp
    public init(revision: Int, event: Event, replacedAt: Timestamp) {
        self.revision = revision
        self.event = event
        self.replacedAt = replacedAt
    }
}
