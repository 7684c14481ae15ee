import CallbridgeModel

/// The dispatcher's scheduling as a value, with no I/O: per endpoint, the
/// attempts in flight, its circuit breaker and whether an operator disabled
/// it; from those, how many deliveries each endpoint may lease now, and
/// which endpoints' due deliveries should end the dispatcher's wait.
///
/// An endpoint is *ready* when a lease for it could succeed right now:
/// enabled, its breaker permits an attempt (closed, a probe due, or
/// half-open with no probe out), and it has room — any free slot when idle,
/// else at least a quarter of `max_in_flight` (refills come in batches, not
/// one lease transaction per finished attempt). Work due on an endpoint that
/// is not ready never shortens the wait: a completion rings the doorbell,
/// and a breaker's reopening time is a wake-up of its own. (Counting that
/// work made the loop spin while an endpoint was full.)
///
/// Invariants: `0 <= inFlight <= maxInFlight` for every lane (an endpoint
/// is never leased beyond its room); `capacity` only returns ready
/// endpoints; `finished` is called once per leased delivery.
struct DispatchSchedule: Sendable {
    struct Lane: Sendable {
        let maxInFlight: Int
        var inFlight = 0
        var breaker: CircuitBreaker
    }

    private(set) var lanes: [String: Lane]
    /// Endpoints an operator disabled (or a 410 did), from the log.
    var disabled: Set<String> = []

    init(endpoints: [(name: String, maxInFlight: Int)], breaker: CircuitBreaker) {
        lanes = Dictionary(endpoints.map { ($0.name, Lane(maxInFlight: max(1, $0.maxInFlight), breaker: breaker)) }, uniquingKeysWith: { a, _ in a })
    }

    var inFlightTotal: Int { lanes.values.reduce(0) { $0 + $1.inFlight } }

    /// Room that counts: any free slot when nothing is in flight, else a quarter of the capacity.
    private static func room(_ lane: Lane) -> Int {
        let free = lane.maxInFlight - lane.inFlight
        guard lane.inFlight == 0 || free >= max(1, lane.maxInFlight / 4) else { return 0 }
        return max(0, free)
    }

    /// How many deliveries each ready endpoint may lease now. Moves an open
    /// breaker whose cooldown is over to half-open (one probe).
    mutating func capacity(now: Timestamp) -> [String: Int] {
        var capacity: [String: Int] = [:]
        for name in lanes.keys where !disabled.contains(name) {
            let room = Self.room(lanes[name]!)
            guard room > 0 else { continue }
            let permitted = lanes[name]!.breaker.permits(free: room, now: now)
            if permitted > 0 { capacity[name] = permitted }
        }
        return capacity
    }

    /// The endpoints whose due deliveries should end the wait (see the type's
    /// doc): those `capacity` would offer now, asked of a copy so no breaker moves.
    func ready(now: Timestamp) -> [String] {
        var copy = self
        return copy.capacity(now: now).keys.sorted()
    }

    /// The earliest time an open breaker lets a probe through.
    var nextBreakerReopen: Timestamp? { lanes.values.compactMap(\.breaker.reopensAt).min() }

    /// Deliveries were leased.
    mutating func leased(_ counts: [String: Int]) {
        for (name, count) in counts where count > 0 {
            lanes[name]?.inFlight += count
            lanes[name]?.breaker.started(count)
        }
    }

    /// One leased delivery finished: `success` true or false for an attempt
    /// made, nil when none was (shutdown returned the lease).
    mutating func finished(_ name: String, success: Bool?, now: Timestamp) {
        guard var lane = lanes[name] else { return }
        lane.inFlight = max(0, lane.inFlight - 1)
        switch success {
        case true?: lane.breaker.recordSuccess()
        case false?: lane.breaker.recordFailure(now: now)
        case nil: break
        }
        lanes[name] = lane
    }

    /// Breaker state per endpoint (`closed`, `open`, `half_open`).
    var breakerLabels: [String: String] { lanes.mapValues(\.breaker.label) }
}
